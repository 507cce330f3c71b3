//go:build !race

package main

// loadRequests is the number of requests of TestConcurrentClients.
const loadRequests = 2000
