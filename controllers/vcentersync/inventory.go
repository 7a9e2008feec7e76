package vcentersync

import (
	"context"

	"github.com/vm-service/vm-service/internal/vsphere/namespaces"
)

// InventoryReader reads vCenter's namespace-management API for the Syncer. The Syncer holds no
// vCenter session of its own: namespaces.Reader implements this against vCenter, and specs can
// use a fake.
type InventoryReader interface {
	// Read returns one complete inventory, or an error and no inventory: only a complete read
	// may lead the Syncer to delete anything. host names the vCenter read, without credentials,
	// for the Syncer's logs and errors, and is set on error too when known.
	Read(ctx context.Context) (inv *namespaces.Inventory, host string, err error)
	// Close ends any vCenter session Read opened. The Syncer calls it when it stops.
	Close(ctx context.Context)
}

var _ InventoryReader = &namespaces.Reader{}
