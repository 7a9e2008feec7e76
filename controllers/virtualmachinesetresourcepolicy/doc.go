// Package virtualmachinesetresourcepolicy owns VirtualMachineSetResourcePolicies: it makes each
// policy's child resource pool (with its reservations and limits), child VM folder and cluster
// modules in vSphere through the provider, records the modules' ids in status, and on deletion
// removes them, but only once no VirtualMachine names the policy and no VM is left in its pool or
// folder: removing a folder in vSphere destroys the VMs in it.
//
// VirtualMachines that name a policy are placed by the VirtualMachine controller, which waits
// for the policy to be Ready.
package virtualmachinesetresourcepolicy
