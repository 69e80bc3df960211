// The room's image registry on the test cluster: distribution's own server and
// its serve command, linked with filesystem storage only. The upstream binary
// also links the S3, GCS and Azure drivers, which would triple the build.
package main

import (
	"os"

	"github.com/distribution/distribution/v3/registry"
	_ "github.com/distribution/distribution/v3/registry/storage/driver/filesystem"
)

func main() {
	if err := registry.RootCmd.Execute(); err != nil {
		os.Exit(1)
	}
}
