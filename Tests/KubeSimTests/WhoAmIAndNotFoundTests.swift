import Foundation
import Testing

@testable import KubeSim

/// `kubectl auth whoami`, and what a request for something kubesim does not serve gets, judged by the
/// real kubectl against the `kubesim` executable.
@Suite(.serialized) struct WhoAmIAndNotFoundTests {
    /// The client certificate's user and organization, then the token file's user and groups.
    @Test func whoamiShowsTheAuthenticatedUserAndGroups() async throws {
        try await withKubeSimExecutable("whoami") { kubectl, directory in
            let certificate = try await kubectl.run(["auth", "whoami", "-o", "json"])
            #expect(certificate.status == 0, "\(certificate.stderr)")
            let review = try JSON.parse(Data(certificate.stdout.utf8))
            #expect(review["kind"] == "SelfSubjectReview" && review["apiVersion"] == "authentication.k8s.io/v1")
            #expect(review[path: ["status", "userInfo", "username"]] == .string(Certificates.adminUser))
            #expect(
                review[path: ["status", "userInfo", "groups"]] == ["system:masters", "system:authenticated"],
                "\(certificate.stdout)")

            let tokens = TokenFile(url: directory.appendingPathComponent("sim/tokens.csv"))
            let token = try #require(try tokens.firstToken())
            let bearer = try await kubectl.run(["--token", token, "auth", "whoami"])
            #expect(bearer.status == 0, "\(bearer.stderr)")
            #expect(bearer.stdout.contains("kubesim-token-admin"), "\(bearer.stdout)")
            #expect(bearer.stdout.contains("[system:masters system:authenticated]"), "\(bearer.stdout)")
        }
    }

    /// A group, version or resource that is not served is 404 NotFound whatever the verb; a served
    /// path with a verb it does not take stays 405.
    @Test func unservedPathsAreNotFoundForEveryVerb() async throws {
        try await withKubeSimExecutable("not-found") { kubectl, directory in
            let body = directory.appendingPathComponent("widget.json")
            try Data(#"{"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}"#.utf8)
                .write(to: body)
            for path in [
                "/apis/example.com/v1/namespaces/default/widgets", "/apis/apps/v1/namespaces/default/widgets",
                "/apis/apps/v9/namespaces/default/deployments",
            ] {
                let created = try await kubectl.run(["create", "--raw", path, "-f", body.path])
                #expect(created.status != 0)
                #expect(
                    created.stderr.contains("the server could not find the requested resource"),
                    "\(path): \(created.stderr)")
                let fetched = try await kubectl.run(["get", "--raw", path])
                #expect(fetched.stderr.contains("the server could not find the requested resource"), "\(path)")
            }
            let discovery = try await kubectl.run(["create", "--raw", "/apis", "-f", body.path])
            #expect(discovery.stderr.contains("MethodNotAllowed"), "\(discovery.stderr)")
        }
    }
}
