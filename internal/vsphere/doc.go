// Package vsphere owns what VM Service does to VMs in vCenter (the namespace-management API,
// which the vCenter sync reads, is in the namespaces subpackage): the session (one govmomi client,
// logged in lazily and again when vCenter forgets it), the per-namespace resource pool and VM
// folder under the supervisor cluster, deploying a VM from a content library item sized by its
// class, driving its power state, deleting it, and listing the images a library offers.
//
// Controllers depend on the small Provider interface only, so they can be tested with a fake;
// the govmomi implementation is tested against the in-process simulator (internal/vcsim).
//
// Choices worth knowing:
//   - A VM is found by its instance UUID, which the caller derives from the VirtualMachine's
//     UID and which is set last, after sizing and customization, as the mark that creation
//     finished. A VM with the VirtualMachine's name in the namespace's folder but without that
//     UUID is an interrupted creation: EnsureVM finishes it and DeleteVM removes it.
//   - The class is applied once, when the VM is made. EnsureVM never resizes an existing VM.
//   - A CPU request of N cores reserves N x the clock of the slowest host in the supervisor
//     cluster (summary.hardware.cpuMhz), in MHz, rounded up; the reservation then holds on any
//     host DRS may choose. Memory requests reserve the same amount in MiB. A best-effort class
//     gets reservations of explicitly 0; class limits become vSphere limits (-1 when unset).
//   - A static IP is applied by guest customization (CustomizationFixedIp on the first NIC,
//     LinuxPrep identity) before the first power on. The VM's network is the image's default
//     mapping; choosing a network per namespace is not done here yet.
//   - Powering off is a hard power off.
//   - A resource policy is a child resource pool (its reservations and limits in the units of
//     class requests: cores at the slowest host's clock in MHz, memory in MiB) under the
//     namespace's pool, a child folder under the namespace's folder, and one cluster module
//     (vapi/cluster) per group. A VM with a Placement goes into that pool and folder, which it
//     never makes itself, and joins its ClusterModule before its first power on. The policy's
//     pool and folder are removed only when they hold no VM: removing a folder destroys its VMs.
package vsphere
