// Package supervisor owns the embedded local supervisor behind `make run`: one process that
// starts etcd and kube-apiserver (through controller-runtime's envtest), govmomi's vCenter
// simulator with the namespace-management API, the 16 stock VM classes and a content library of
// images, and the product's manager with its webhooks, exactly as internal/manager builds it for
// a real cluster.
//
// It also owns the files a user works with, all in one state directory (.local at the repo
// root): a kubeconfig with an admin context, one context per namespace and a developer user; a
// govc environment file for the vCenter admin's actions; a ready marker; the control plane's
// logs; and, only when asked to keep state, etcd's data and a snapshot of the simulator's
// namespaces and classes. cmd/local-supervisor is a thin main around Start and Stop; the specs
// in this package start it in-process and replay the walkthrough with kubectl and govc.
package supervisor
