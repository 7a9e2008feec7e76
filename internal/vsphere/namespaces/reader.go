package namespaces

import (
	"context"

	"github.com/vmware/govmomi/vapi/namespace"
)

// Reader reads vCenter's namespace-management API in full through one REST session that it
// keeps between reads. It is not safe for concurrent use: one caller (such as the vCenter
// sync loop) owns it and reads one inventory at a time.
type Reader struct {
	session session
}

// NewReader returns a Reader that asks connect where vCenter is before every Read. It logs in
// lazily, on the first Read.
func NewReader(connect ConnectionFunc) *Reader {
	return &Reader{session: session{connect: connect}}
}

// Read lists the namespaces, the classes assigned to each and the class definitions. It returns
// a complete Inventory or an error and no Inventory. host names the vCenter read, without
// credentials, for logs; it is set on error too, unless the connection itself was unavailable.
// When vCenter has dropped the session, Read logs in again and retries once.
func (r *Reader) Read(ctx context.Context) (inv *Inventory, host string, err error) {
	conn, err := r.session.do(ctx, func(c *clients) error {
		var err error
		inv, err = readInventory(ctx, namespace.NewManager(c.rest), pbmPolicies{vim: c.vim})
		return err
	})
	if err != nil {
		return nil, conn.Host(), err
	}
	return inv, conn.Host(), nil
}

// Close logs the session out, best effort, even when ctx is already done. A later Read logs in
// again.
func (r *Reader) Close(ctx context.Context) { r.session.close(ctx) }
