/// The devloop release, printed by `devloop --version`.
public enum DevLoopVersion {
    public static let current = "0.1.0"
}
