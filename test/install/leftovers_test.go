package install_test

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"

	vmopv1 "github.com/vm-service/vm-service/api/vmoperator/v1alpha1"
	"github.com/vm-service/vm-service/test/testenv"
)

// objectsOf lists every object the apiserver serves, by "resource.group namespace/name", leaving
// out what the control plane keeps for itself (its kube-* namespaces, priority and fairness) and
// events, which expire. The value says whether an uninstall may leave the object: it is in the
// install's namespace, whose deletion removes it (this apiserver runs no namespace controller to
// finish the job), or the vCenter mirror made it from what the admin made in vCenter.
// While CRDs are being removed, discovery and lists may fail for a moment: the error says so, and
// the caller asks again.
func objectsOf(env *testenv.Env) (map[string]bool, error) {
	cfg := rest.CopyConfig(env.Config)
	cfg.WarningHandler = rest.NoWarnings{} // listing deprecated kinds (Endpoints) is on purpose
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, err
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	lists, err := dc.ServerPreferredResources()
	if err != nil {
		return nil, fmt.Errorf("discovery: %w", err)
	}
	objects := map[string]bool{}
	for _, list := range lists {
		gv, err := schema.ParseGroupVersion(list.GroupVersion)
		if err != nil {
			return nil, err
		}
		if gv.Group == "flowcontrol.apiserver.k8s.io" || gv.Group == "events.k8s.io" {
			continue
		}
		for _, r := range list.APIResources {
			if r.Name == "events" || !slices.Contains(r.Verbs, "list") {
				continue
			}
			items, err := dyn.Resource(gv.WithResource(r.Name)).List(ctx, metav1.ListOptions{})
			if err != nil {
				return nil, fmt.Errorf("list %s: %w", r.Name, err)
			}
			for _, o := range items.Items {
				if strings.HasPrefix(o.GetNamespace(), "kube-") || (r.Name == "namespaces" && strings.HasPrefix(o.GetName(), "kube-")) {
					continue
				}
				key := fmt.Sprintf("%s.%s %s/%s", r.Name, gv.Group, o.GetNamespace(), o.GetName())
				inSystem := o.GetNamespace() == systemNamespace || (r.Name == "namespaces" && o.GetName() == systemNamespace)
				objects[key] = inSystem || o.GetLabels()[vmopv1.VCenterSyncLabel] == vmopv1.VCenterSyncLabelValue
			}
		}
	}
	return objects, nil
}

// leftovers are the objects now that were not there before and that an uninstall should have
// removed.
func leftovers(before, now map[string]bool) []string {
	var left []string
	for key, mayStay := range now {
		if _, existed := before[key]; !existed && !mayStay {
			left = append(left, key)
		}
	}
	sort.Strings(left)
	return left
}
