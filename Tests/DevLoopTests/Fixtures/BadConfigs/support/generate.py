# Writes the bad-input corpus and expected.tsv (run from Tests/DevLoopTests/Fixtures/BadConfigs:
# python3 support/generate.py). The line:column column of expected.tsv is kept for files it already
# lists; a new case gets "?" until its place is checked by hand against the loader's answer.
import os
BASE = """namespace: webapp-dev
manifests: [support/ok.yaml]
pod:
  selector: {app: web}
sync:
  - from: .
    to: /app
"""
def cfg(**repl):
    s = BASE
    for k, v in repl.items():
        s = s.replace(k, v)
    return s
cases = []  # (file, content(bytes or str), field, fragment)
def c(name, content, field, fragment):
    cases.append((name, content, field, fragment))

# --- syntax / file-level
c("config-empty.yaml", "", "(file)", "is empty")
c("config-only-comments.yaml", "# nothing here\n# at all\n", "(file)", "is empty")
c("config-top-list.yaml", "- namespace: webapp-dev\n", "(top level)", "must be a mapping")
c("config-top-scalar.yaml", "just a string\n", "(top level)", "must be a mapping")
c("config-syntax-tab.yaml", "namespace: webapp-dev\npod:\n\tselector: {app: web}\n", "(file)", "not valid YAML")
c("config-syntax-unclosed-flow.yaml", "namespace: webapp-dev\nmanifests: [support/ok.yaml\npod: {}\n", "(file)", "not valid YAML")
c("config-syntax-bad-indent.yaml", "namespace: webapp-dev\n  manifests: [a]\n", "(file)", "not valid YAML")
c("config-syntax-unclosed-quote.yaml", "namespace: \"webapp-dev\nmanifests: [a]\n", "(file)", "not valid YAML")
c("config-secret-in-syntax-error.yaml", "namespace: webapp-dev\ntoken: \"s3cr3t-t0ken\n", "(file)", "not valid YAML")
c("config-undefined-alias.yaml", cfg(**{"to: /app": "to: *nowhere"}), "(file)", "undefined alias")
c("config-two-documents.yaml", BASE + "---\nnamespace: other\n", "(file)", "more than one YAML document")
c("config-duplicate-key.yaml", BASE + "namespace: again\n", "namespace", "duplicate key `namespace`")
c("config-binary-nul.yaml", b"namespace: web\x00app\n", "(file)", "NUL byte")
c("config-binary-garbage.yaml", bytes([0x7f,0x45,0x4c,0x46,2,1,1,0,0,0,0xff,0xfe,0x10,0x80]), "(file)", "control character")
c("config-not-utf8.yaml", b"namespace: caf\xe9-dev\n", "(file)", "not UTF-8")
c("config-deep-nesting.yaml", "namespace: webapp-dev\nextra: " + "[" * 1200 + "]" * 1200 + "\n", "(file)", "not valid YAML")
c("config-deep-nesting-block.yaml", "namespace: webapp-dev\nsync:\n" + "".join("  " * i + "- \n" for i in range(0)) + "".join(" " * i + "-\n" for i in range(1100)), "(file)", "not valid YAML")
bomb = "namespace: webapp-dev\na: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]\ng: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]\nh: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]\ni: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h]\n"
c("config-alias-bomb-key.yaml", bomb + "? *i\n: boom\n", "(file)", "alias bomb")
c("config-alias-bomb-value.yaml", bomb.replace("namespace: webapp-dev\n", "namespace: webapp-dev\nmanifests: [support/ok.yaml]\npod: {selector: {app: web}}\nsync: [{from: ., to: /app}]\n"), "a", "unknown key `a`")
c("config-alias-bomb-in-field.yaml", bomb.replace("namespace: webapp-dev\n", "").replace("a: &a", "x-a: &a").replace("\nb:", "\nx-b:").replace("\nc:", "\nx-c:").replace("\nd:", "\nx-d:").replace("\ne:", "\nx-e:").replace("\nf:", "\nx-f:").replace("\ng:", "\nx-g:").replace("\nh:", "\nx-h:").replace("\ni:", "\nx-i:"), "x-a", "unknown key `x-a`")
# --- unknown keys
c("config-unknown-key-typo.yaml", cfg(**{"namespace:": "namepsace:"}), "namepsace", "did you mean `namespace`?")
c("config-unknown-key-far.yaml", BASE + "colour: blue\n", "colour", "known keys: root, namespace")
c("config-unknown-pod-key.yaml", cfg(**{"  selector:": "  selecter:"}), "pod.selecter", "did you mean `selector`?")
c("config-unknown-sync-key.yaml", cfg(**{"    to: /app": "    to: /app\n    excludes: [x]"}), "sync[0].excludes", "did you mean `exclude`?")
c("config-unknown-forward-key.yaml", BASE + "forwards:\n  - local: 8080\n    remote: 5000\n    adress: 127.0.0.1\n", "forwards[0].adress", "did you mean `address`?")
c("config-unknown-restart-key.yaml", BASE + "restart:\n  run: ./server\n  buld: make\n", "restart.buld", "did you mean `build`?")
c("config-case-key.yaml", BASE + "Transport: exec\n", "Transport", "did you mean `transport`?")
c("config-non-scalar-key.yaml", BASE + "? [a, b]\n: c\n", "?", "plain name")
# --- missing
c("config-missing-namespace.yaml", cfg(**{"namespace: webapp-dev\n": ""}), "namespace", "is required")
c("config-missing-sync.yaml", BASE.split("sync:")[0], "sync", "is required")
c("config-missing-selector.yaml", cfg(**{"  selector: {app: web}": "  container: app"}), "pod.selector", "is required")
c("config-null-namespace.yaml", cfg(**{"namespace: webapp-dev": "namespace:"}), "namespace", "needs a value")
c("config-missing-to.yaml", cfg(**{"    to: /app\n": ""}), "sync[0].to", "is required")
c("config-restart-without-run.yaml", BASE + "restart:\n  paths: [\"*.swift\"]\n", "restart.run", "is required")
c("config-forward-without-local.yaml", BASE + "forwards:\n  - remote: 5000\n", "forwards[0].local", "is required")
# --- types
c("config-namespace-number.yaml", cfg(**{"namespace: webapp-dev": "namespace: 42"}), "namespace", "must be a string, not a number")
c("config-manifests-string.yaml", cfg(**{"manifests: [support/ok.yaml]": "manifests: support/ok.yaml"}), "manifests", "must be a list")
c("config-manifests-empty.yaml", cfg(**{"manifests: [support/ok.yaml]": "manifests: []"}), "manifests", "at least one")
c("config-pod-list.yaml", cfg(**{"pod:\n  selector: {app: web}": "pod: [app]"}), "pod", "must be a mapping")
c("config-sync-mapping.yaml", cfg(**{"sync:\n  - from: .\n    to: /app": "sync: {from: ., to: /app}"}), "sync", "must be a list")
c("config-sync-empty.yaml", cfg(**{"sync:\n  - from: .\n    to: /app": "sync: []"}), "sync", "at least one mapping")
c("config-exclude-string.yaml", cfg(**{"    to: /app": "    to: /app\n    exclude: .build/"}), "sync[0].exclude", "must be a list")
c("config-exclude-nested.yaml", cfg(**{"    to: /app": "    to: /app\n    exclude: [[.build/]]"}), "sync[0].exclude[0]", "must be a string, not a list")
c("config-local-port-string.yaml", BASE + "forwards:\n  - local: \"8080\"\n    remote: 5000\n", "forwards[0].local", "must be a whole number")
c("config-selector-value-bool.yaml", cfg(**{"{app: web}": "{app: web, dev: true}"}), "pod.selector.dev", "quote it")
c("config-transport-bool.yaml", BASE + "transport: yes\n", "transport", "must be a string")
# --- values
c("config-namespace-default.yaml", cfg(**{"namespace: webapp-dev": "namespace: default"}), "namespace", "not a dev namespace")
c("config-namespace-kube-system.yaml", cfg(**{"namespace: webapp-dev": "namespace: kube-system"}), "namespace", "not a dev namespace")
c("config-namespace-uppercase.yaml", cfg(**{"namespace: webapp-dev": "namespace: WebApp"}), "namespace", "DNS-1123 label")
c("config-namespace-too-long.yaml", cfg(**{"namespace: webapp-dev": "namespace: " + "a" * 64}), "namespace", "no more than 63")
c("config-transport-unknown.yaml", BASE + "transport: rsync\n", "transport", "not a transport")
c("config-duration-no-unit.yaml", cfg(**{"  selector: {app: web}": "  selector: {app: web}\n  readyTimeout: 600"}), "pod.readyTimeout", "needs a unit")
c("config-duration-bad.yaml", cfg(**{"  selector: {app: web}": "  selector: {app: web}\n  readyTimeout: 10 minutes"}), "pod.readyTimeout", "not a duration")
c("config-duration-zero.yaml", cfg(**{"  selector: {app: web}": "  selector: {app: web}\n  readyTimeout: 0s"}), "pod.readyTimeout", "longer than 0")
c("config-wait-timeout-bad.yaml", BASE + "forwards:\n  - local: 8080\n    remote: 5000\n    waitTimeout: soon\n", "forwards[0].waitTimeout", "not a duration")
c("config-label-key-bad.yaml", cfg(**{"{app: web}": "{\"app name\": web}"}), "pod.selector.app name", "label key")
c("config-label-prefix-bad.yaml", cfg(**{"{app: web}": "{Example.COM/app: web}"}), "pod.selector.Example.COM/app", "DNS subdomain")
c("config-label-value-bad.yaml", cfg(**{"{app: web}": "{app: -web-}"}), "pod.selector.app", "label value")
c("config-label-value-long.yaml", cfg(**{"{app: web}": "{app: " + "v" * 64 + "}"}), "pod.selector.app", "no more than 63")
c("config-selector-empty.yaml", cfg(**{"{app: web}": "{}"}), "pod.selector", "at least one label")
c("config-selector-string-bad.yaml", cfg(**{"{app: web}": "\"app!=web\""}), "pod.selector", "not `key=value`")
c("config-selector-duplicate.yaml", cfg(**{"{app: web}": "\"app=web,app=api\""}), "pod.selector", "given twice")
c("config-container-bad.yaml", cfg(**{"  selector: {app: web}": "  selector: {app: web}\n  container: App_1"}), "pod.container", "DNS-1123 label")
c("config-to-relative.yaml", cfg(**{"to: /app": "to: app"}), "sync[0].to", "absolute path")
c("config-to-root.yaml", cfg(**{"to: /app": "to: /"}), "sync[0].to", "container's root")
c("config-to-dotdot.yaml", cfg(**{"to: /app": "to: /app/../etc"}), "sync[0].to", "must not contain `..`")
c("config-sync-overlap.yaml", BASE + "  - from: support\n    to: /app/support\n", "sync[1].to", "overlaps sync[0].to")
c("config-hostpath-relative.yaml", cfg(**{"    to: /app": "    to: /app\n    hostPath: var/lib/app"}), "sync[0].hostPath", "absolute path")
c("config-from-missing.yaml", cfg(**{"from: .": "from: no-such-folder"}), "sync[0].from", "does not exist")
c("config-from-file.yaml", cfg(**{"from: .": "from: support/ok.yaml"}), "sync[0].from", "is a file, not a folder")
c("config-root-missing.yaml", "root: ../no-such-root\n" + BASE, "root", "does not exist")
c("config-manifest-missing.yaml", cfg(**{"support/ok.yaml": "support/missing.yaml"}), "manifests[0]", "does not exist")
c("config-port-zero.yaml", BASE + "forwards:\n  - local: 0\n    remote: 5000\n", "forwards[0].local", "not a port")
c("config-port-too-big.yaml", BASE + "forwards:\n  - local: 8080\n    remote: 70000\n", "forwards[0].remote", "not a port")
c("config-remote-name-bad.yaml", BASE + "forwards:\n  - local: 8080\n    remote: HTTP_PORT\n", "forwards[0].remote", "port name")
c("config-forward-duplicate.yaml", BASE + "forwards:\n  - local: 8080\n    remote: 5000\n  - local: 8080\n    remote: 5001\n", "forwards[1].local", "already forwarded by forwards[0]")
c("config-forward-wildcard-clash.yaml", BASE + "forwards:\n  - local: 8080\n    remote: 5000\n  - local: 8080\n    remote: 5001\n    address: 0.0.0.0\n", "forwards[1].local", "already forwarded")
c("config-address-hostname.yaml", BASE + "forwards:\n  - local: 8080\n    remote: 5000\n    address: localhost\n", "forwards[0].address", "IP address")
c("config-run-empty.yaml", BASE + "restart:\n  run: \"\"\n", "restart.run", "must not be empty")
c("config-restart-paths-mapping.yaml", BASE + "restart:\n  paths: {swift: yes}\n  run: ./server\n", "restart.paths", "must be a list")

# --- refused only by the cluster: the CLI test creates `someones-team` without the dev label first
# (the loader accepts these files; BadConfigCorpusTests checks that it does)
c("cluster-namespace-unlabelled.yaml", cfg(**{"namespace: webapp-dev": "namespace: someones-team"}), "namespace", "exists but is not labelled devloop.dev/dev=true")

# manifests the loader accepts and the API server refuses (a dry run of every object comes first, so
# nothing is applied, and the namespace made for them is deleted again)
DEPLOY = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 1
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: app
        image: busybox
"""
c("cluster-manifest-selector-mismatch.yaml", DEPLOY.replace("      labels: {app: web}", "      labels: {app: other}"), "spec.template.metadata.labels", "does not match template")
c("cluster-manifest-unknown-field.yaml", DEPLOY.replace("  replicas: 1", "  replicas: 1\n  replicass: 2"), "spec.replicass", "field not declared in schema")
c("cluster-manifest-negative-replicas.yaml", DEPLOY.replace("  replicas: 1", "  replicas: -1"), "spec.replicas", "greater than or equal to 0")
c("cluster-manifest-second-refused.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: first-is-valid\ndata: {a: b}\n---\n" + DEPLOY.replace("      labels: {app: web}", "      labels: {app: other}"), "spec.template.metadata.labels", "does not match template")

# --- manifests (scoped against namespace webapp-dev)
DEP = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 1
"""
c("manifest-cluster-role.yaml", "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: admin-all\nrules: []\n", "kind", "ClusterRole/admin-all is cluster-scoped")
c("manifest-crd.yaml", DEP + "---\napiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: widgets.example.com\n", "kind", "CustomResourceDefinition/widgets.example.com is cluster-scoped")
c("manifest-pv.yaml", "apiVersion: v1\nkind: PersistentVolume\nmetadata:\n  name: data\nspec: {}\n", "kind", "cluster-scoped")
c("manifest-node.yaml", "apiVersion: v1\nkind: Node\nmetadata:\n  name: node-1\n", "kind", "cluster-scoped")
c("manifest-webhook.yaml", "apiVersion: admissionregistration.k8s.io/v1\nkind: MutatingWebhookConfiguration\nmetadata:\n  name: inject\n", "kind", "cluster-scoped")
c("manifest-other-namespace.yaml", DEP.replace("  name: web\n", "  name: web\n  namespace: production\n"), "metadata.namespace", "Deployment/web is in namespace `production`")
c("manifest-kube-system.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: coredns\n  namespace: kube-system\n", "metadata.namespace", "not the dev namespace")
c("manifest-other-namespace-object.yaml", "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: production\n", "metadata.name", "only Namespace the dev manifests may declare")
c("manifest-missing-kind.yaml", "apiVersion: v1\nmetadata:\n  name: x\n", "kind", "is missing")
c("manifest-missing-apiversion.yaml", "kind: ConfigMap\nmetadata:\n  name: x\n", "apiVersion", "is missing")
c("manifest-missing-name.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  generateName: x-\n", "metadata.name", "is missing (generateName")
c("manifest-missing-metadata.yaml", "apiVersion: v1\nkind: ConfigMap\ndata: {}\n", "metadata", "ConfigMap (document 1): is missing")
c("manifest-kind-number.yaml", "apiVersion: v1\nkind: 42\nmetadata:\n  name: x\n", "kind", "must be a string")
c("manifest-namespace-number.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  namespace: 7\n", "metadata.namespace", "must be a string")
c("manifest-unknown-kind.yaml", "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\n", "metadata", "give `metadata.namespace: webapp-dev` explicitly")
c("manifest-list.yaml", "apiVersion: v1\nkind: List\nitems: []\nmetadata:\n  name: all\n", "kind", "a List is not supported")
c("manifest-scalar-document.yaml", DEP + "---\njust text\n", "(document 2)", "must be a Kubernetes object")
c("manifest-duplicate-object.yaml", DEP + "---\n" + DEP, "metadata.name", "declared twice")
c("manifest-syntax.yaml", "apiVersion: v1\nkind: Secret\nmetadata:\n  name: creds\nstringData:\n  password: \"hunter2\n", "(file)", "not valid YAML")
c("manifest-empty.yaml", "# nothing\n---\n", "(file)", "contains no objects")
mbomb = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bomb\nx-a: &a [x, x, x, x, x, x, x, x, x]\nx-b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nx-c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nx-d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\nx-e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\nx-f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]\nx-g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]\n"
c("manifest-alias-bomb.yaml", mbomb, "x-f", "expands to more than 200000 values")
c("manifest-deep-nesting.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: deep\ndata:\n  x: " + "[" * 150 + "]" * 150 + "\n", "data", "nested more than 100 levels")
c("manifest-binary.yaml", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "(file)", "not UTF-8 text")
c("manifest-duplicate-key.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  name: y\n", "name", "duplicate key `name`")

places = {}
if os.path.exists("expected.tsv"):
    for row in open("expected.tsv").read().split("\n"):
        if row and not row.startswith("#") and len(row.split("\t")) > 3:
            places[row.split("\t")[0]] = row.split("\t")[3]
os.makedirs("support", exist_ok=True)
open("support/ok.yaml", "w").write("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ok\n")
for f in os.listdir("."):
    if f.endswith(".yaml") or f.endswith(".tsv"):
        os.remove(f)
rows = []
for name, content, field, fragment in cases:
    mode = "wb" if isinstance(content, bytes) else "w"
    with open(name, mode) as fh:
        fh.write(content)
    rows.append(f"{name}\t{field}\t{fragment}\t{places.get(name, '?')}")
open("expected.tsv", "w").write("# file\tfield\tfragment\tline:column (support/generate.py writes this index)\n" + "\n".join(rows) + "\n")
print(len(cases))
