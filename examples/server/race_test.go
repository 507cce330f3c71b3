//go:build race

package main

// loadRequests is the number of requests of TestConcurrentClients, fewer
// under the race detector, which makes evaluation about ten times slower.
const loadRequests = 400
