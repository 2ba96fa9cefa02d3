package handlers

// Authenticate is the authentication middleware, for benchmarks that mount a route of their
// own behind beatgrid's whole middleware stack.
var Authenticate = authenticate
