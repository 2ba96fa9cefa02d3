// Module codecs compares JSON codecs on beatgrid's push decoding. It is a module of its own
// so that beatgrid's go.mod does not take the codecs it does not use (bench/run-all.sh).
module github.com/beatgrid/beatgrid/bench/codecs

go 1.26.8

require (
	github.com/beatgrid/beatgrid v0.0.0
	github.com/goccy/go-json v0.12.0
	github.com/segmentio/encoding v0.5.4
)

require (
	github.com/google/uuid v1.6.0 // indirect
	github.com/paulmach/orb v0.14.0 // indirect
	github.com/segmentio/asm v1.1.3 // indirect
	go.mongodb.org/mongo-driver/v2 v2.10.0 // indirect
	golang.org/x/sys v0.50.0 // indirect
)

replace github.com/beatgrid/beatgrid => ../..
