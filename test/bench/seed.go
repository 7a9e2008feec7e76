package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/uuid"
	"sigs.k8s.io/controller-runtime/pkg/client"

	vmopv1 "github.com/vm-service/vm-service/api/vmoperator/v1alpha1"
)

// Creating 100,000 bindings through the apiserver, and having the manager write the status of
// each, takes 10 to 15 minutes on a shared two-core machine. The filler namespaces' bindings (and
// the VMs of the memory figure) are therefore written straight into the apiserver's storage, each
// a copy of one the bench made through the apiserver and the manager admitted or reconciled (same
// fields, status and managed fields; its own name, namespace and uid). The apiserver watches its
// storage, so a manager started afterwards lists and watches them through the apiserver like any
// other: nothing measured reads storage.

// storageKey is where the apiserver stores a namespaced object of the product's group: its etcd
// prefix, the CRD's group and plural, the namespace and the name.
func storageKey(plural, namespace, name string) string {
	return fmt.Sprintf("/registry/%s/%s/%s/%s", vmopv1.GroupVersion.Group, plural, namespace, name)
}

// seedFillerBindings writes cfg.NamespaceBindings bindings into every filler namespace, binding
// b-n a copy of the one of the same class in the measured namespace of our path.
func seedFillerBindings(ctx context.Context, c client.Client, etcd *url.URL, cfg ScaleConfig) error {
	templates := map[string]*vmopv1.VirtualMachineClassBinding{}
	for i := range classCount {
		b := &vmopv1.VirtualMachineClassBinding{}
		if err := readTemplate(ctx, c, benchNamespaceName(pathOurs), fmt.Sprintf("b-%d", i), b); err != nil {
			return err
		}
		if len(b.Status.Conditions) == 0 {
			return fmt.Errorf("binding %s to copy has no status yet", b.Name)
		}
		b.APIVersion, b.Kind = vmopv1.GroupVersion.String(), "VirtualMachineClassBinding"
		templates[b.ClassRef.Name] = b
	}
	return seedCopies(ctx, etcd, cfg, "virtualmachineclassbindings", (namespaceCount(cfg)-3)*cfg.NamespaceBindings,
		func(i int) client.Object {
			n := i % cfg.NamespaceBindings
			b := templates[fmt.Sprintf("class-%d", n%classCount)].DeepCopy()
			b.Namespace, b.Name = fillerNamespaceName(i/cfg.NamespaceBindings), fmt.Sprintf("b-%d", n)
			return b
		})
}

// seedFillerVMs replaces every VirtualMachine with cfg.VMs copies of the first one the webhook
// figures created through our webhooks, spread over the filler namespaces.
func seedFillerVMs(ctx context.Context, c client.Client, etcd *url.URL, cfg ScaleConfig) error {
	vm := &vmopv1.VirtualMachine{}
	if err := readTemplate(ctx, c, benchNamespaceName(pathOurs), "vm-0", vm); err != nil {
		return err
	}
	vm.APIVersion, vm.Kind = vmopv1.GroupVersion.String(), "VirtualMachine"
	prefix := strings.TrimSuffix(storageKey("virtualmachines", "", ""), "//")
	if err := etcdTxn(ctx, etcd, []etcdOp{{Delete: &etcdRange{Key: []byte(prefix), RangeEnd: prefixEnd(prefix)}}}); err != nil {
		return err
	}
	fillers := namespaceCount(cfg) - 3
	return seedCopies(ctx, etcd, cfg, "virtualmachines", cfg.VMs, func(i int) client.Object {
		copied := vm.DeepCopy()
		copied.Namespace, copied.Name = fillerNamespaceName(i%fillers), fmt.Sprintf("vm-%d", i)
		return copied
	})
}

// readTemplate reads an object made through the apiserver, to be copied.
func readTemplate(ctx context.Context, c client.Client, namespace, name string, obj client.Object) error {
	if err := c.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, obj); err != nil {
		return fmt.Errorf("read %s/%s to copy: %w", namespace, name, err)
	}
	obj.SetResourceVersion("") // the apiserver keeps it out of what it stores
	return nil
}

// seedCopies stores n objects, object(i) each with a uid of its own, 128 to a transaction,
// cfg.Writers transactions at once. No manager may be watching: the apiserver's watchers assume
// one object per etcd revision, and one that resumed mid-transaction would miss the rest of it.
func seedCopies(ctx context.Context, etcd *url.URL, cfg ScaleConfig, plural string, n int, object func(int) client.Object) error {
	return inParallel(ctx, cfg.Writers, (n+etcdTxnOps-1)/etcdTxnOps, func(ctx context.Context, batch int) error {
		var puts []etcdOp
		for i := batch * etcdTxnOps; i < min(n, (batch+1)*etcdTxnOps); i++ {
			obj := object(i)
			obj.SetUID(uuid.NewUUID())
			value, err := json.Marshal(obj)
			if err != nil {
				return fmt.Errorf("encode %s/%s: %w", obj.GetNamespace(), obj.GetName(), err)
			}
			puts = append(puts, etcdOp{Put: &etcdKV{Key: []byte(storageKey(plural, obj.GetNamespace(), obj.GetName())), Value: value}})
		}
		return etcdTxn(ctx, etcd, puts)
	})
}

// prefixEnd is the end of the key range of every key that starts with prefix.
func prefixEnd(prefix string) []byte {
	end := []byte(prefix)
	end[len(end)-1]++
	return end
}

// etcdTxnOps is etcd's default bound on the operations of one transaction.
const etcdTxnOps = 128

// etcdOp is a put or a range delete in a transaction of etcd's JSON gateway, which takes keys
// and values base64-encoded, as encoding/json writes []byte.
type etcdOp struct {
	Put    *etcdKV    `json:"requestPut,omitempty"`
	Delete *etcdRange `json:"requestDeleteRange,omitempty"`
}

type etcdKV struct {
	Key   []byte `json:"key"`
	Value []byte `json:"value"`
}

type etcdRange struct {
	Key      []byte `json:"key"`
	RangeEnd []byte `json:"range_end"`
}

// etcdClient keeps a connection per writer open instead of the default two.
var etcdClient = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}

// etcdTxn runs one transaction through etcd's JSON gateway, on loopback.
func etcdTxn(ctx context.Context, etcd *url.URL, ops []etcdOp) error {
	body, err := json.Marshal(map[string][]etcdOp{"success": ops})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, etcd.JoinPath("/v3/kv/txn").String(), bytes.NewReader(body))
	if err != nil {
		return err
	}
	resp, err := etcdClient.Do(req)
	if err != nil {
		return fmt.Errorf("write to etcd: %w", err)
	}
	defer resp.Body.Close()
	var answer struct {
		Succeeded bool `json:"succeeded"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&answer); err != nil || resp.StatusCode != http.StatusOK || !answer.Succeeded {
		return fmt.Errorf("write to etcd: %s (%v)", resp.Status, err)
	}
	return nil
}
