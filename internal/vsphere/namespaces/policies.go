package namespaces

import (
	"context"
	"fmt"
	"strings"

	"github.com/vmware/govmomi/pbm"
	"github.com/vmware/govmomi/pbm/types"
	"github.com/vmware/govmomi/vim25"
)

// pbmPolicies names storage policies through vCenter's storage policy service.
type pbmPolicies struct {
	vim *vim25.Client
}

func (p pbmPolicies) KubernetesNames(ctx context.Context, ids []string) (map[string]string, error) {
	c, err := pbm.NewClient(ctx, p.vim)
	if err != nil {
		return nil, fmt.Errorf("connect to the storage policy service: %w", err)
	}
	refs := make([]types.PbmProfileId, len(ids))
	for i, id := range ids {
		refs[i] = types.PbmProfileId{UniqueId: id}
	}
	profiles, err := c.RetrieveContent(ctx, refs)
	if err != nil {
		return nil, fmt.Errorf("read storage policies %v: %w", ids, err)
	}
	names := make(map[string]string, len(profiles))
	for _, b := range profiles {
		p := b.GetPbmProfile()
		name := p.Name
		if cp, ok := b.(*types.PbmCapabilityProfile); ok && cp.K8sCompliantName != "" {
			name = cp.K8sCompliantName
		}
		names[p.ProfileId.UniqueId] = KubernetesName(name)
	}
	return names, nil
}

// KubernetesName is how vSphere names a policy's StorageClass when the policy has no
// Kubernetes-compliant name of its own: lower case, with dashes for anything else.
func KubernetesName(policy string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(policy) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') || r == '-' || r == '.' {
			b.WriteRune(r)
		} else {
			b.WriteRune('-')
		}
	}
	return strings.Trim(b.String(), "-.")
}
