// pause: the real node's pod sandbox process. It sleeps, reaps zombies (it is PID 1 of the pod's
// shared PID namespace when one is used) and exits 0 on SIGTERM or SIGINT, like Kubernetes' pause.
// Built statically by test/cluster/build-bins.sh and imported into the node's containerd as the
// sandbox image, because no registry can be pulled from.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGCHLD)
	for s := range sigs {
		if s == syscall.SIGCHLD {
			for {
				var ws syscall.WaitStatus
				pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
				if pid <= 0 || err != nil {
					break
				}
			}
			continue
		}
		os.Exit(0)
	}
}
