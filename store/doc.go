// Package store keeps messages, their payloads and their delivery state. Store is the
// contract the MSH and the backend API use; BoltStore (OpenBolt) is the embedded engine on
// bbolt, with payload files beside the database. A networked engine (PostgreSQL) can
// implement the same interface later. The package knows nothing of SOAP or HTTP: the MSH
// maps ebMS headers to Message and back.
//
// # Messages and states
//
// A Message is keyed by a store-assigned Key; the AS4 MessageId is indexed, once per
// direction (outbound ids unique, inbound ids unique per sending party). States use
// Domibus's vocabulary (SEND_ENQUEUED ... DOWNLOADED); the transition table in states.go
// rejects illegal changes, and every change writes an Event with a strictly increasing
// sequence number in the same transaction, plus an entry in the message's history.
//
// # Durable before acknowledged
//
// A receipt to a peer and a 202 to a backend both mean "stored durably". The bbolt engine
// keeps that promise like this:
//
//  1. Payload bytes first. PutPayload writes a temporary file, fsyncs it, renames it into
//     its shard directory and fsyncs that directory, and only then returns the BlobRef.
//     A file visible under its final name is complete; a renamed file's name survives a
//     power loss. A small payload (Options.InlinePayloadBytes, 64 KiB by default) is
//     instead staged in memory and written by step 2, inside its transaction (inline.go).
//  2. Metadata second. Submit/Receive check (inside the write transaction, under a lock the
//     orphan sweep respects) that each referenced file exists with the stated size (or is
//     staged inline), and commit the message, its index entries, its event, the blob
//     references and any inline payload bytes in one bbolt transaction. bbolt runs with NoSync false: a commit writes the data pages,
//     fdatasyncs, writes the meta page, fdatasyncs again. The meta page (checksummed, one of
//     two alternating) is the commit point: after a crash the database is at the last
//     transaction whose meta page is intact: all of it or none of it.
//  3. Answer last. A write operation returns only after its transaction's commit returned,
//     i.e. after the second fdatasync. The MSH sends its receipt, the API its 202, after
//     that return. Group commit (commit.go) shares a commit among concurrent callers but
//     answers none of them before it.
//
// Consequences after SIGKILL or power loss: every acknowledged message is in the database
// and every payload it references is a complete file (1 before 2). A payload written but
// never committed is an orphan: no metadata references it, and the sweep at the next open
// removes it. A message that was SEND_IN_PROGRESS is made due again at open (its lease
// belonged to the dead process); the peer's duplicate detection absorbs a resend. A
// DELETED message's files are removed after its commit; if the crash came first, the
// sweep removes them. An inbound message is in its recipient's inbox until the commit that
// marks it DOWNLOADED removes it, in the same transaction, so it is never listed twice
// after a download is acknowledged, and the duplicate index (also committed with the
// message) keeps a re-sent message from being stored and delivered a second time.
//
// Limits of the argument: it assumes the disk honours flushes (no volatile write cache
// that lies) and a file system with the usual rename + directory fsync semantics (ext4,
// xfs). The crash test kills a writer with SIGKILL, which checks the ordering and the
// recovery, not the disk's honesty.
//
// Cancellation: a write's context is checked before the write is queued, not after: a
// caller that stopped waiting could not know whether its message was stored.
//
// # Buckets
//
// See keys.go for the bucket and key layout, queue.go for the fair sending queue,
// payloads.go for the payload files and inline.go for payloads kept in the database.
//
// # Format versions and backups
//
// The layout has a version (SchemaVersion). OpenBolt refuses a newer database untouched
// and upgrades an older one: it copies the database aside (as4gw.db.pre-vN), then runs
// the migrations of migrate.go in one write transaction. A new bucket needs no migration
// (missing buckets are created at every open); converting existing data does.
//
// Backup (backup.go) writes a consistent snapshot of the database (inline payloads
// included) and the payload files it references while the store runs; payload file
// removals wait until it has copied them.
// ReadBackup verifies an archive and extracts it into a new store directory.
package store
