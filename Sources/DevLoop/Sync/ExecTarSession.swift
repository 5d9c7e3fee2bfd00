import Foundation

/// One batch for the session: the rename/delete lines, and the archive padded to whole records.
struct FramedBatch: Sendable {
    var script: String
    var archive: Data
    /// Renames are not idempotent: a batch with any is never sent twice (the engine reconciles).
    var hasRenames: Bool

    func payload(sequence: Int) -> Data {
        precondition(archive.count % TarWriter.recordSize == 0, "the archive must be whole records")
        var data = Data("\(sequence) \(archive.count / TarWriter.recordSize)\n\(script)E\n".utf8)
        data.append(archive)
        return data
    }
}

/// One exec kept open for the transport's batches: `sh` reads batch after batch from its stdin and
/// answers each with a status line, so a batch costs a round trip on an open stream instead of an
/// exec of its own (a connection, an upgrade, a process spawned in the container).
///
/// The framing never needs stdin's end (v4 has none): a header `SEQ RECORDS`, the rename/delete
/// lines up to `E` (the shell's `read` takes a pipe a byte at a time), then exactly RECORDS × 10 KiB
/// of tar, read by `dd iflag=fullblock` (busybox's `head -c` reads past its count on a pipe; dd
/// without fullblock stops at a short read). Each batch's messages come back on stdout, ended by
/// `\n\u{1}SEQ STATUS`. A tar that fails has what it left unread drained by `cat`, so the next batch
/// starts where it should.
actor ExecTarSession {
    static let script = """
        cd -- "$1" || exit 1
        dd if=/dev/null of=/dev/null bs=512 count=0 iflag=fullblock 2>/dev/null || {
          echo "dd cannot read whole blocks from a pipe (no iflag=fullblock)" >&2; exit 3; }
        while IFS=' ' read -r seq records; do
          status=0
          {
        \(ExecTarTransport.operationLines)
            if [ "$records" -gt 0 ]; then
              dd bs=10240 count="$records" iflag=fullblock 2>/dev/null |
                { tar -xof - || { cat >/dev/null; false; }; } || status=1
            fi
          } 2>&1
          printf '\\n\\001%s %s\\n' "$seq" "$status"
        done
        """
    /// The script's exit status when the container cannot run it: the batch was not touched.
    static let unsupportedStatus: Int32 = 3

    nonisolated let executor: any StreamingContainerExecutor
    nonisolated let destination: String
    /// Each batch's bound, plus 4 ms per KiB of archive (a 32 MiB batch at 256 KB/s on a loaded node).
    nonisolated let deadline: Duration
    private var live: LiveExec?
    private var sequence = 0
    private var busy = false
    private var waiting: [CheckedContinuation<Void, Never>] = []
    /// Why the container cannot keep a session; every batch is then an exec of its own.
    private(set) var unsupported: String?
    /// Execs opened so far (tests and the bench count them).
    private(set) var opened = 0

    init(executor: any StreamingContainerExecutor, destination: String, deadline: Duration) {
        self.executor = executor
        self.destination = destination
        self.deadline = deadline
    }

    /// Applies one batch. False when the container cannot keep a session (nothing of the batch was
    /// applied: the caller runs it as an exec of its own).
    func apply(_ batch: FramedBatch) async throws -> Bool {
        await acquire()
        defer { release() }
        if unsupported != nil { return false }
        let bound = deadline + .milliseconds(4 * (batch.archive.count >> 10))
        var retried = false
        while true {
            let live = try await current()
            sequence += 1
            let outcome = await live.exchange(batch.payload(sequence: sequence), sequence: sequence, deadline: bound)
            guard case .ended(let ending, let timedOut) = outcome else {
                guard case .answered(let answer) = outcome, answer.status != 0 else { return true }
                throw SyncTransportError(
                    "applying the batch in \(destination) failed (status \(answer.status)): \(answer.message)")
            }
            drop(live)
            try Task.checkCancellation()
            if live.answered == 0, case .exited(let code, let words) = ending {
                if code == Self.unsupportedStatus {
                    unsupported = words
                    return false
                }
                throw SyncTransportError("exec in container failed (\(code)): \(words)")
            }
            if timedOut {
                throw SyncTransportError("no answer from the exec in the container within \(bound) (dropped it)")
            }
            // The exec died with the batch in flight (a replaced pod, a cut stream): a batch without
            // renames is idempotent and goes again on a fresh exec; one with renames is left to the
            // engine's reconcile, as a replay after a partial run could move the wrong file.
            guard !retried, live.answered > 0, !batch.hasRenames else {
                throw SyncTransportError("the exec in the container ended with the batch in flight: \(ending)")
            }
            retried = true
        }
    }

    /// Drops the open exec at once (it is not waited for: the pod may be stopped).
    func close() {
        if let live { drop(live) }
    }

    private func current() async throws -> LiveExec {
        if let live, !live.isEnded { return live }
        if let live { drop(live) }
        let stream = try await executor.open(["sh", "-c", Self.script, "sh", destination])
        opened += 1
        let live = LiveExec(stream: stream)
        self.live = live
        return live
    }

    private func drop(_ live: LiveExec) {
        live.stream.cancel()
        if self.live === live { self.live = nil }
    }

    private func acquire() async {
        guard busy else {
            busy = true
            return
        }
        await withCheckedContinuation { waiting.append($0) }
    }

    private func release() {
        if waiting.isEmpty { busy = false } else { waiting.removeFirst().resume() }
    }
}
