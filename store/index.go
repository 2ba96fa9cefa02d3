package store

import (
	"context"
	"fmt"
	"slices"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

type index struct {
	coll, name string
	keys       bson.D
	unique     bool
	mongoOnly  bool // the embedded store never uses an index for a query, and pays for each on every write
}

// indexes lists the secondary indexes. The embedded store honours unique ones (they arbitrate
// duplicates) but answers every query by a scan; MongoDB uses them all.
var indexes = []index{
	{collUsers, "username_unique", bson.D{{Key: "username", Value: 1}}, true, false},
	{collUsers, "org_unit", bson.D{{Key: "org_unit_id", Value: 1}}, false, true},
	{collDevices, "org_unit", bson.D{{Key: "org_unit_id", Value: 1}}, false, true},
	{collOrgUnits, "parent", bson.D{{Key: "parent_id", Value: 1}}, false, true},
	{collRefreshTokens, "expires", bson.D{{Key: "expires_at", Value: 1}}, false, true},
	{collRefreshSpent, "expires", bson.D{{Key: "expires_at", Value: 1}}, false, true},
	{collRevokedFamilies, "expires", bson.D{{Key: "expires_at", Value: 1}}, false, true},
	{collMutations, "device_seq", bson.D{{Key: "device_id", Value: 1}, {Key: "seq", Value: 1}}, false, true},
	{collMutations, "org_received", bson.D{{Key: "org_unit_id", Value: 1}, {Key: "received_at", Value: 1}}, false, true},
}

const codeNamespaceNotFound = 26

// ensureIndexes creates the indexes that do not exist yet, one command each: FerretDB 1.24
// panics on a createIndexes of several indexes that already exist.
func (db *DB) ensureIndexes(ctx context.Context) error {
	have := map[string][]mongo.IndexSpecification{}
	for _, ix := range indexes {
		if ix.mongoOnly && db.embedded {
			continue
		}
		specs, ok := have[ix.coll]
		if !ok {
			var err error
			specs, err = db.coll(ix.coll).Indexes().ListSpecifications(ctx)
			if se, ok := err.(mongo.ServerError); ok && se.HasErrorCode(codeNamespaceNotFound) {
				err = nil // MongoDB: the collection does not exist yet
			}
			if err != nil {
				return fmt.Errorf("store: indexes of %s: %w", ix.coll, err)
			}
			have[ix.coll] = specs
		}
		if slices.ContainsFunc(specs, func(s mongo.IndexSpecification) bool { return s.Name == ix.name }) {
			continue
		}
		m := mongo.IndexModel{Keys: ix.keys, Options: options.Index().SetName(ix.name).SetUnique(ix.unique)}
		if _, err := db.coll(ix.coll).Indexes().CreateOne(ctx, m); err != nil {
			return fmt.Errorf("store: index %s of %s: %w", ix.name, ix.coll, err)
		}
	}
	return nil
}
