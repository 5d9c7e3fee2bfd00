/// kubesim: an API server and a kubelet in one process (filled by the kubesim issue).
public enum KubeSimInfo {
    public static let version = "v1.32.0-kubesim"
}
