// Package sync is the offline sync engine: terminals push the mutations they recorded and
// pull the records that changed for them. It holds the rules; package handlers speaks HTTP
// for it and package store keeps its log. It imports neither.
//
// # Push: exactly once, nothing acknowledged lost
//
// A mutation is identified by (device, client-made UUID). Its record in the mutation log
// (store: collection "mutations", _id "device/id") is the commit point: the store's unique
// _id lets exactly one write of it succeed, on one server or many, whatever the retries. A
// push decides every mutation of the batch first — a repeat is answered from the first
// answer (status "duplicate"), another payload under a known id is rejected with
// "id_reused", a bad payload is rejected with a code and a field (and stored, so that its
// repeats get the same answer) — then writes all new records in one unordered insertMany with
// journaled majority write concern, and answers only after that write returns. So:
//
//   - an "applied" answer is never sent for a write that is not durable (§3.2);
//   - if the server dies after the write and before the answer, the terminal retries; the
//     restarted server has loaded the log (Engine.Load) and answers "duplicate" (§3.1);
//   - a server that never saw the first write (another server, or memory that forgot an old
//     id) gets a duplicate-key error from the store for that record and answers from the
//     stored record;
//   - if the write fails, nothing is acknowledged: the whole request fails and is retried.
//
// Pushes of one device are serialised by a lock per device, so concurrent repeats of one
// batch (a client that duplicates requests) decide against each other's results. Recent ids
// (DedupeWindow, default 72 h) are kept in memory to answer repeats without a query; older
// repeats are caught by the unique key, only slower.
//
// Derived state (patrol stats, coverage, hazard status…) is not stored by push: each mutation
// type registers folds (Registry.Fold) that are applied to every applied mutation once it is
// durable, and to the whole log at start. A fold must give the same state whatever the order
// and repetition of arrival (§3.4); TestConvergence pushes one set of mutations shuffled,
// split and repeated from concurrent clients and compares with a clean run.
//
// Sequence numbers (per device, from 1) are tracked per device; runs never received though
// later ones were are reported back as seq_gaps. Each record keeps the device's time of the
// event, the device's clock at sending and the server's receive time; a batch whose device
// clock is off by more than MaxSkew is flagged "clock_skew". Facts are never ordered by
// device time alone.
//
// # Pull: no skipped changes
//
// Records that terminals pull (org units, routes, checkpoints and kiosks now; venues, hazards
// and tasks as they come) carry the version of their last change, taken from the Feed. A
// writer reserves a version, stores the record with it (one document write, so record and
// version are atomic), then commits it to the feed — or aborts the version if the write
// failed. Versions are handed out in order but writes finish in any order: writer A may take
// 10 and writer B 11, and B may commit first. A pull therefore never passes the high-water
// mark: the highest version below which no version is still reserved. While 10 is pending,
// pulls stop at 9 even though 11 is committed; once 10 commits (or aborts), the next pull
// returns 10 and 11 in order. A cursor is the version reached, so a pull after it can only
// see versions above it, and every version at or below it was settled when it was given out:
// no change is skipped (§3.3). Writers always settle their version (commit or abort, on every
// path), so the mark cannot stick on this server.
//
// The feed is held in memory (one entry per record, at its latest version; superseded
// entries are compacted away) and rebuilt at start from the records' stored versions: it
// needs no collection of its own and no query per pull. Scope (§3.5): a pull returns the
// records whose unit lies in the caller's scope; a record that moved away (its past units)
// or was deleted comes as a delete; a cursor made for another scope restarts from zero with
// reset: true.
//
// # Several servers (MongoDB)
//
// Push needs nothing more: the unique _id arbitrates. The feed as built is per process; with
// several servers, versions come from a counter document incremented atomically
// (findOneAndUpdate $inc, atomic on MongoDB), each reservation carries a lease, each server
// tails the records' versions (indexed on MongoDB) into its feed, and a version not seen by
// its lease's end is taken as aborted — a writer whose lease ran out re-reserves before it
// writes. That is not built yet: beatgrid runs as one server on the embedded store.
package sync
