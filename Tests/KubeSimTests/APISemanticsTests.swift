import Foundation
import KubeSim
import Testing

/// kube-apiserver semantics that clients rely on: apply ownership and conflicts, errors as Status
/// objects, watch resume and expiry, persistence.
@Suite struct APISemanticsTests {
    static func start(_ name: String, options: KubeSimServer.Options = .init()) async throws -> (KubeSimServer, Curl) {
        let server = try await KubeSimServer.start(
            directory: temporaryDirectory(name), runtime: HostProcessRuntime(), options: options)
        return (server, Curl(server: server))
    }

    static let configMap = """
        {"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"settings","namespace":"default"},"data":{"color":"blue"}}
        """

    @Test func applyCreatesUpdatesAndRefusesConflicts() async throws {
        let (server, curl) = try await Self.start("apply")
        let path = "/api/v1/namespaces/default/configmaps/settings"
        let (created, first) = try await curl.request(
            "PATCH", path + "?fieldManager=alice", body: Self.configMap, contentType: "application/apply-patch+yaml")
        #expect(created == 201)
        #expect(first[path: ["data", "color"]] == "blue")
        let (same, unchanged) = try await curl.request(
            "PATCH", path + "?fieldManager=alice", body: Self.configMap, contentType: "application/apply-patch+yaml")
        #expect(same == 200)
        #expect(unchanged[path: ["metadata", "resourceVersion"]] == first[path: ["metadata", "resourceVersion"]])

        let bob = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  color: red\n"
        let (conflict, status) = try await curl.request(
            "PATCH", path + "?fieldManager=bob", body: bob, contentType: "application/apply-patch+yaml")
        #expect(conflict == 409)
        #expect(status["kind"] == "Status")
        #expect(status["reason"] == "Conflict")
        #expect(status[path: ["details", "causes"]]?.arrayValue?.first?["field"] == ".data.color")
        #expect(status["message"]?.stringValue?.contains("conflict with \"alice\"") == true)

        let (forced, taken) = try await curl.request(
            "PATCH", path + "?fieldManager=bob&force=true", body: bob, contentType: "application/apply-patch+yaml")
        #expect(forced == 200)
        #expect(taken[path: ["data", "color"]] == "red")
        let entries = taken[path: ["metadata", "managedFields"]]?.arrayValue ?? []
        let owners = entries.filter { $0[path: ["fieldsV1", "f:data", "f:color"]] != nil }.compactMap {
            $0["manager"]?.stringValue
        }
        #expect(owners == ["bob"])

        // A field bob stops applying goes away.
        let (_, pruned) = try await curl.request(
            "PATCH", path + "?fieldManager=bob",
            body: "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  size: \"3\"\n",
            contentType: "application/apply-patch+yaml")
        #expect(pruned["data"] == ["size": "3"])

        let (missing, _) = try await curl.request(
            "PATCH", path, body: Self.configMap, contentType: "application/apply-patch+yaml")
        #expect(missing == 422)
        await server.stop()
    }

    @Test func errorsAreStatusObjects() async throws {
        let (server, curl) = try await Self.start("errors")
        let (notFound, status) = try await curl.request("GET", "/api/v1/namespaces/default/pods/nope")
        #expect(notFound == 404)
        #expect(status["reason"] == "NotFound")
        #expect(status["message"] == "pods \"nope\" not found")
        #expect(status[path: ["details", "kind"]] == "pods")

        let (created, _) = try await curl.request("POST", "/api/v1/namespaces/default/configmaps", body: Self.configMap)
        #expect(created == 201)
        let (exists, duplicate) = try await curl.request(
            "POST", "/api/v1/namespaces/default/configmaps", body: Self.configMap)
        #expect(exists == 409)
        #expect(duplicate["reason"] == "AlreadyExists")

        let pod = #"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"Bad_Name"},"spec":{"containers":[]}}"#
        let (invalid, causes) = try await curl.request("POST", "/api/v1/namespaces/default/pods", body: pod)
        #expect(invalid == 422)
        #expect(causes["reason"] == "Invalid")
        let fields = (causes[path: ["details", "causes"]]?.arrayValue ?? []).compactMap { $0["field"]?.stringValue }
        #expect(fields.contains("metadata.name"))
        #expect(fields.contains("spec.containers"))

        let (badRequest, _) = try await curl.request("POST", "/api/v1/namespaces/default/pods", body: "{not json")
        #expect(badRequest == 400)
        let (noNamespace, missing) = try await curl.request(
            "POST", "/api/v1/namespaces/nowhere/configmaps",
            body: Self.configMap.replacingOccurrences(
                of: "\"default\"", with: "\"nowhere\""))
        #expect(noNamespace == 404)
        #expect(missing["message"] == "namespaces \"nowhere\" not found")
        await server.stop()
    }

    @Test func watchResumesExpiresAndBookmarks() async throws {
        let (server, curl) = try await Self.start("watch", options: .init(bookmarkInterval: .milliseconds(300)))
        let (_, list) = try await curl.request("GET", "/api/v1/namespaces/default/configmaps")
        let version = try #require(list[path: ["metadata", "resourceVersion"]]?.stringValue)
        _ = try await curl.request("POST", "/api/v1/namespaces/default/configmaps", body: Self.configMap)
        let watch = try curl.stream(
            "/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=\(version)&allowWatchBookmarks=true")
        try await watch.waitForOutput("the ADDED event and a bookmark") { _ in
            let types = watch.watchEvents.compactMap { $0["type"]?.stringValue }
            return types.first == "ADDED" && types.contains("BOOKMARK")
        }
        let (_, deleted) = try await curl.request("DELETE", "/api/v1/namespaces/default/configmaps/settings")
        #expect(deleted["status"] == "Success")
        try await watch.waitForOutput("the DELETED event") { _ in
            watch.watchEvents.contains { $0["type"] == "DELETED" }
        }
        await server.expireWatches()
        try await watch.waitForOutput("an ERROR event with 410") { _ in
            watch.watchEvents.contains { $0["type"] == "ERROR" && $0[path: ["object", "code"]] == 410 }
        }
        #expect(try await watch.wait(timeout: .seconds(10)) == 0)
        let (gone, status) = try await curl.request(
            "GET", "/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=\(version)")
        #expect(gone == 410)
        #expect(status["reason"] == "Expired")
        let timed = try curl.stream("/api/v1/namespaces/default/configmaps?watch=1&timeoutSeconds=1")
        #expect(try await timed.wait(timeout: .seconds(10)) == 0)
        await server.stop()
    }

    @Test func stateSurvivesARestart() async throws {
        let directory = temporaryDirectory("persist")
        let first = try await KubeSimServer.start(directory: directory, runtime: HostProcessRuntime())
        let (_, created) = try await Curl(server: first).request(
            "POST", "/api/v1/namespaces/default/configmaps", body: Self.configMap)
        let version = try #require(created[path: ["metadata", "resourceVersion"]]?.intValue)
        await first.stop()
        let second = try await KubeSimServer.start(directory: directory, runtime: HostProcessRuntime())
        let curl = Curl(server: second)
        let (found, object) = try await curl.request("GET", "/api/v1/namespaces/default/configmaps/settings")
        #expect(found == 200)
        #expect(object.uid == created.uid)
        let (_, list) = try await curl.request("GET", "/api/v1/namespaces/default/configmaps")
        #expect((list[path: ["metadata", "resourceVersion"]]?.intValue ?? 0) >= version)
        await second.stop()
    }
}

extension APISemanticsTests {
    /// Logs and exec of a container that has not started are refused with 400, as by a kubelet.
    @Test func streamsOfAWaitingContainerAreRefused() async throws {
        let server = try await KubeSimServer.start(
            directory: temporaryDirectory("waiting"), runtime: HostProcessRuntime(startsContainers: false))
        let curl = Curl(server: server)
        let pod =
            #"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"slow"},"spec":{"containers":[{"name":"app","image":"x"}]}}"#
        let (created, _) = try await curl.request("POST", "/api/v1/namespaces/default/pods", body: pod)
        #expect(created == 201)
        let (code, status) = try await curl.request("GET", "/api/v1/namespaces/default/pods/slow/log")
        #expect(code == 400)
        #expect(status["message"] == "container \"app\" in pod \"slow\" is waiting to start: ContainerCreating")
        let (previous, _) = try await curl.request("GET", "/api/v1/namespaces/default/pods/slow/log?previous=true")
        #expect(previous == 400)
        let (wrong, invalid) = try await curl.request("GET", "/api/v1/namespaces/default/pods/slow/log?container=nope")
        #expect(wrong == 400)
        #expect(invalid["message"] == "container nope is not valid for pod slow")
        let (exec, refused) = try await curl.request(
            "GET", "/api/v1/namespaces/default/pods/slow/exec?command=true&stdout=true")
        #expect(exec == 400)
        #expect(refused["message"]?.stringValue?.contains("container not found") == true)
        await server.stop()
    }
}
