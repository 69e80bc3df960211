"""Room mode from the learner's side: in a room or not, their last push, and their checker
run published for the instructor's board (learner)."""
