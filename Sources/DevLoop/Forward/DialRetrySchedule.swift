/// How long a forwarded connection pauses before it dials the pod again after a refusal (no server
/// listens: it is being replaced, or it crashed). During a restart the server is down for its own
/// start-up time, usually well under a second, and the first dial after it listens is the one the
/// user waits for: so the first second is tried at a short fixed interval, and only a longer wait
/// (a crash loop, a slow start) backs off, to spare the API server and the kubelet. Attempts are
/// sequential, so the fast phase costs at most one dial in flight per waiting connection.
struct DialRetrySchedule: Sendable {
    /// The pause between dials while the connection has waited less than `fastPhase`.
    var fastInterval: Duration = .milliseconds(10)
    var fastPhase: Duration = .seconds(1)
    /// Past the fast phase, the pause doubles from `fastInterval * 2` up to this.
    var longest: Duration = .milliseconds(500)

    /// The pause after a refusal, `waited` after the connection's first dial.
    func pause(afterWaiting waited: Duration, previous: Duration?) -> Duration {
        guard waited >= fastPhase else { return fastInterval }
        guard let previous, previous > fastInterval else { return min(fastInterval * 2, longest) }
        return min(previous * 2, longest)
    }
}
