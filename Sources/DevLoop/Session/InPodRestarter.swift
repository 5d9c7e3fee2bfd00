import Foundation
import Logging

/// What one in-pod restart did.
public struct RestartOutcome: Sendable, Equatable {
    /// False when the build failed: the old server still serves and `buildOutput` holds the errors.
    public var built: Bool
    /// The build's stdout, then its stderr (the compiler's messages).
    public var buildOutput: String
    public var buildDuration: Duration
    /// From the build's end until the new server was up (zero when the build failed).
    public var restartDuration: Duration

    public init(built: Bool, buildOutput: String, buildDuration: Duration, restartDuration: Duration) {
        self.built = built
        self.buildOutput = buildOutput
        self.buildDuration = buildDuration
        self.restartDuration = restartDuration
    }
}

public enum InPodRestartError: Error, Equatable, CustomStringConvertible {
    /// The container does not run dev/supervisor.sh (its copy in the control folder is missing).
    case noSupervisor(String)
    /// The build succeeded but the supervisor did not bring the new server up.
    case swapFailed(exitCode: Int32, message: String)

    public var description: String {
        switch self {
        case .noSupervisor(let message): message
        case .swapFailed(let code, let message):
            "the server was rebuilt but did not restart (exit \(code)): \(message)"
        }
    }
}

/// Rebuilds and restarts the server inside the running dev container through the in-pod supervisor
/// (dev/supervisor.sh), with one exec of its `restart`: the build, whose output is the compiler's while
/// the old server keeps serving, then the swap, which has the supervisor replace the server and returns
/// once it is up. (An exec costs a connection and a process start in the pod: one less per restart.)
/// The container is never restarted, so its `restartCount` does not change.
public struct InPodRestarter: Sendable {
    public let executor: any ContainerExecutor
    public let policy: RestartPolicy
    /// The folder in the container the build and the server run in (the synced sources).
    public let remoteRoot: String
    /// The restart exec opened ahead of demand, where the executor can keep one open.
    private let standby: RestartStandby?
    private let logger = Logger(label: "devloop.restart")

    /// The exit status of `command(_:)` when the supervisor's copy is missing.
    static let noSupervisorStatus: Int32 = 125

    public init(executor: any ContainerExecutor, policy: RestartPolicy, remoteRoot: String) {
        self.executor = executor
        self.policy = policy
        self.remoteRoot = remoteRoot
        standby = (executor as? any StreamingContainerExecutor).map {
            RestartStandby(
                executor: $0, command: Self.command("restart", policy: policy, remoteRoot: remoteRoot, ahead: true))
        }
    }

    /// Opens the exec of the next restart ahead of it, in the background.
    public func prepare() async {
        await standby?.prepare()
    }

    /// Drops the exec opened ahead (the session is stopping).
    public func close() async {
        await standby?.close()
    }

    public func restart() async throws -> RestartOutcome {
        let clock = ContinuousClock()
        let start = clock.now
        let result = try await run("restart")
        let total = clock.now - start
        guard let report = RestartReport(stderr: Self.text(result.stderr)) else {
            throw InPodRestartError.swapFailed(
                exitCode: result.exitCode,
                message: "the supervisor did not report its build: "
                    + Self.text(result.stderr).trimmingCharacters(in: .whitespacesAndNewlines))
        }
        let output = Self.text(result.stdout) + report.buildErrors
        let buildDuration = min(report.buildDuration, total)
        guard report.buildStatus == 0 else {
            logger.info(
                "in-pod build failed (exit \(report.buildStatus)) after \(buildDuration): the old server keeps serving")
            return RestartOutcome(
                built: false, buildOutput: output, buildDuration: buildDuration, restartDuration: .zero)
        }
        guard result.exitCode == 0 else {
            throw InPodRestartError.swapFailed(
                exitCode: result.exitCode, message: report.swapErrors.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        let restartDuration = total - buildDuration
        logger.debug("in-pod restart: built in \(buildDuration), restarted in \(restartDuration)")
        return RestartOutcome(
            built: true, buildOutput: output, buildDuration: buildDuration, restartDuration: restartDuration)
    }

    /// The restart on the exec opened ahead when there is one, else on a fresh exec; then the next one
    /// is opened ahead.
    private func run(_ verb: String) async throws -> ExecResult {
        let result: ExecResult
        do {
            if let ready = await standby?.take(),
                let answer = try await ready.run(
                    acknowledgement: Self.acknowledgementWait, deadline: ExecRequest.defaultTimeout)
            {
                result = answer
            } else {
                result = try await executor.run(command(verb), stdin: Data())
            }
        } catch {
            await standby?.prepare()
            throw error
        }
        await standby?.prepare()
        if result.exitCode == Self.noSupervisorStatus {
            throw InPodRestartError.noSupervisor(
                Self.text(result.stderr).trimmingCharacters(in: .whitespacesAndNewlines))
        }
        return result
    }

    /// `sh -c SCRIPT devloop-restart VERB ROOT BUILD RUN`: the values travel as arguments, never spliced into
    /// shell text. The supervisor copies itself into the container's control folder when it starts, so the
    /// exec finds it wherever the image or the sources keep it; the config's build and run commands
    /// override the manifest's. The script is read into this shell (`.`), not run by a second one: a shell's
    /// start is part of every restart.
    func command(_ verb: String) -> [String] {
        Self.command(verb, policy: policy, remoteRoot: remoteRoot, ahead: false)
    }

    /// How long an exec opened ahead may take to acknowledge its go line before the restart takes a
    /// fresh exec (a healthy one answers within a round trip).
    static let acknowledgementWait: Duration = .seconds(2)

    /// `ahead`: the shell first waits for a go line on stdin and acknowledges it (`StandbyExec`); any
    /// other line, or stdin's end, and it exits without restarting.
    static func command(_ verb: String, policy: RestartPolicy, remoteRoot: String, ahead: Bool) -> [String] {
        let wait = """
            IFS= read -r go || exit 0
            [ "$go" = go ] || exit 0
            printf '\\001go\\n'
            exec </dev/null

            """
        let script =
            (ahead ? wait : "") + """
                control=${DEVLOOP_CONTROL_DIR:-/tmp/devloop}
                if [ ! -f "$control/supervisor.sh" ]; then
                    echo "no devloop supervisor runs in this container ($control/supervisor.sh is missing): \
                its command must be dev/supervisor.sh" >&2
                    exit \(Self.noSupervisorStatus)
                fi
                export DEVLOOP_APP_DIR="$2" DEVLOOP_BUILD="$3" DEVLOOP_RUN="$4"
                set -- "$1"
                . "$control/supervisor.sh"
                """
        return ["sh", "-c", script, "devloop-restart", verb, remoteRoot, policy.build ?? "", policy.run]
    }

    private static func text(_ data: Data) -> String { String(decoding: data, as: UTF8.self) }
}
