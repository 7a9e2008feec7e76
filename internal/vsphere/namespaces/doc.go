// Package namespaces owns reading vCenter's namespace-management API (the vSphere Automation
// REST API, as in vSphere 7.0U2a): the namespaces, the VM classes assigned to each, and the
// class definitions.
//
// A Reader reads all three through one REST session, which it opens on the first Read, keeps
// for later ones, and opens again when the Connection changes or vCenter answers 401 (the
// session expired or vCenter restarted). A read either succeeds in full or returns no
// Inventory at all, so a failed listing can never be mistaken for removals.
//
// Credentials are never logged: a Connection formats and logs without its password, and the
// URL handed to govmomi carries no user info, so no error text can contain it either.
package namespaces
