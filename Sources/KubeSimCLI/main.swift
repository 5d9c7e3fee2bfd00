import KubeSim

print("kubesim \(KubeSimInfo.version): not implemented yet")
