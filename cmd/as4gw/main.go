// Command as4gw is the as4gw AS4 access point: the daemon and its operator tools.
package main

import (
	"errors"
	"fmt"
	"os"
)

func main() {
	root := newRootCommand()
	if err := root.Execute(); err != nil {
		// cobra has already printed usage errors; exit codes are set by the
		// subcommand through exitError where a specific status matters.
		code := 1
		var ee exitError
		if errors.As(err, &ee) {
			code = ee.code
		}
		fmt.Fprintln(os.Stderr, "as4gw:", err)
		os.Exit(code)
	}
}
