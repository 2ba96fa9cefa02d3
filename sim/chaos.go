package sim

import (
	"fmt"
	"strings"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/rs/zerolog"
)

// chaosToxics are the faults a bad mobile network brings, each on a share of connections:
// latency with jitter; a connection cut mid-body (limit_data closes it after some bytes,
// both ways); a connection that stalls and then drops (timeout); a reset.
var chaosToxics = []string{
	`{"name":"latency","type":"latency","stream":"downstream","toxicity":0.5,"attributes":{"latency":40,"jitter":40}}`,
	`{"name":"cut_up","type":"limit_data","stream":"upstream","toxicity":0.08,"attributes":{"bytes":3000}}`,
	`{"name":"cut_down","type":"limit_data","stream":"downstream","toxicity":0.08,"attributes":{"bytes":200}}`,
	`{"name":"stall","type":"timeout","stream":"upstream","toxicity":0.03,"attributes":{"timeout":1500}}`,
	`{"name":"reset","type":"reset_peer","stream":"upstream","toxicity":0.03,"attributes":{"timeout":50}}`,
}

// startChaos starts a toxiproxy on a free loopback port in front of server (a URL).
func startChaos(server string, seed uint64) (*toxiproxy.Proxy, error) {
	upstream := strings.TrimPrefix(strings.TrimPrefix(server, "http://"), "https://")
	ts := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(nil), zerolog.Nop())
	p := toxiproxy.NewProxy(ts, fmt.Sprint("beatgrid-", seed), "127.0.0.1:0", upstream)
	if err := p.Start(); err != nil {
		return nil, fmt.Errorf("sim: chaos proxy: %w", err)
	}
	for _, t := range chaosToxics {
		if _, err := p.Toxics.AddToxicJson(strings.NewReader(t)); err != nil {
			p.Stop()
			return nil, fmt.Errorf("sim: chaos toxic %s: %w", t, err)
		}
	}
	return p, nil
}
