import Foundation

/// Keeps one restart exec open ahead of the next restart (see `StandbyExec`). Opened in the background
/// once the session starts and again after each restart, so nothing waits for it; a restart that comes
/// while one is still opening waits for it, which costs no more than the fresh exec it replaces.
actor RestartStandby {
    private let executor: any StreamingContainerExecutor
    private let command: [String]
    private var next: Task<StandbyExec?, Never>?

    init(executor: any StreamingContainerExecutor, command: [String]) {
        self.executor = executor
        self.command = command
    }

    /// Starts opening the next standby unless one is open or opening.
    func prepare() {
        guard next == nil else { return }
        next = Task { [executor, command] in
            guard let opened = try? await executor.openAhead(command) else { return nil }
            return StandbyExec(opened, command: command)
        }
    }

    /// The standby, if one is open, alive and still in the container a fresh exec would reach; the
    /// caller owns it from then on.
    func take() async -> StandbyExec? {
        guard let task = next else { return nil }
        next = nil
        let standby = await withTaskCancellationHandler {
            await task.value
        } onCancel: {
            task.cancel()
        }
        guard let standby else { return nil }
        guard !standby.isEnded, await standby.opened.isCurrent() else {
            standby.cancel()
            return nil
        }
        return standby
    }

    /// Drops the standby (the session is stopping).
    func close() async {
        guard let task = next else { return }
        next = nil
        task.cancel()
        if let standby = await task.value { standby.cancel() }
    }
}
