// Package virtualmachineservice owns VirtualMachineServices: for each it keeps a core Service of
// the same name, without a pod selector, and the EndpointSlices that list the addresses of the
// VirtualMachines its selector picks that are powered on, have an address and are Ready. It
// copies the Service's cluster IP and load balancer status back, and reports on both in
// conditions and events.
//
// VMs are watched with their old and new labels, so a VM that stops matching, powers off, fails
// its readiness probe or is deleted leaves the endpoints as soon as its status says so. The
// readiness verdict is the VM's own Ready condition (the VirtualMachine controller runs the
// probes); this controller never dials a VM.
//
// The Service and slices are controlled by the VirtualMachineService, so deleting it deletes
// them; a Service of that name the VirtualMachineService does not control is never adopted.
package virtualmachineservice
