/// Who a request comes from, as an authenticator knows them: what `kubectl auth whoami` shows.
struct UserInfo: Sendable, Hashable {
    var username: String
    var groups: [String]

    /// Every authenticated user is also in `system:authenticated`, as kube-apiserver adds it.
    init(username: String, groups: [String]) {
        self.username = username
        self.groups = groups.contains("system:authenticated") ? groups : groups + ["system:authenticated"]
    }
}
