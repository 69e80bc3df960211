"""The command side: the command line (cli), the manifest (course), running a suite
(runner, plugin), the report and its writers, the terminal (ui), progress, watch and
catch-up."""
