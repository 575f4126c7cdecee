// Package e2e holds end-to-end tests: they build the as4gw binary, write a
// development pair with "as4gw devpair", run blue and red as real processes on
// loopback ports and drive them through the REST API only, as a message service
// would — messages both ways with several payloads, a 100 MB payload (peak RSS of
// both processes reported), a partner that is down and comes back, a duplicate
// submission, and a crash test that SIGKILLs both gateways during a stream of
// messages.
//
// Run them with
//
//	go test ./internal/e2e -v            # everything (a few minutes on 2 cores)
//	go test ./internal/e2e -short -v     # without the 100 MB and crash tests
//
// AS4GW_E2E_KEEP=1 keeps the gateways' folders (configs, data, logs) of failed
// tests under the system's temporary directory for inspection.
package e2e
