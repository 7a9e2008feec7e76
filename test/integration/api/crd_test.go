package api_test

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/client-go/discovery"
)

var _ = Describe("CRD installation", func() {
	DescribeTable("serves each kind with its scope and short name",
		func(crdName, groupVersion, kind, shortName string, namespaced bool) {
			crd := &apiextensionsv1.CustomResourceDefinition{}
			Expect(k8s.Get(ctx, nameOf(crdName), crd)).To(Succeed())
			Expect(crd.Status.Conditions).To(ContainElement(And(
				HaveField("Type", apiextensionsv1.Established),
				HaveField("Status", apiextensionsv1.ConditionTrue))))

			dc, err := discovery.NewDiscoveryClientForConfig(env.Config)
			Expect(err).NotTo(HaveOccurred())
			resources, err := dc.ServerResourcesForGroupVersion(groupVersion)
			Expect(err).NotTo(HaveOccurred())
			Expect(resources.APIResources).To(ContainElement(And(
				HaveField("Kind", kind),
				HaveField("Namespaced", namespaced),
				HaveField("ShortNames", ContainElement(shortName)))))
		},
		Entry("VirtualMachineClass", "virtualmachineclasses.vmoperator.vmware.com", "vmoperator.vmware.com/v1alpha1", "VirtualMachineClass", "vmclass", false),
		Entry("VirtualMachineClassBinding", "virtualmachineclassbindings.vmoperator.vmware.com", "vmoperator.vmware.com/v1alpha1", "VirtualMachineClassBinding", "vmclassbinding", true),
		Entry("VirtualMachine", "virtualmachines.vmoperator.vmware.com", "vmoperator.vmware.com/v1alpha1", "VirtualMachine", "vm", true),
		Entry("VirtualMachineImage", "virtualmachineimages.vmoperator.vmware.com", "vmoperator.vmware.com/v1alpha1", "VirtualMachineImage", "vmimage", false),
		Entry("TanzuKubernetesCluster", "tanzukubernetesclusters.run.tanzu.vmware.com", "run.tanzu.vmware.com/v1alpha1", "TanzuKubernetesCluster", "tkc", true),
		Entry("TanzuKubernetesRelease", "tanzukubernetesreleases.run.tanzu.vmware.com", "run.tanzu.vmware.com/v1alpha1", "TanzuKubernetesRelease", "tkr", false),
	)

	It("serves VirtualMachineSetResourcePolicy, namespaced and, as upstream, without a short name", func() {
		crd := &apiextensionsv1.CustomResourceDefinition{}
		Expect(k8s.Get(ctx, nameOf("virtualmachinesetresourcepolicies.vmoperator.vmware.com"), crd)).To(Succeed())
		Expect(crd.Spec.Scope).To(Equal(apiextensionsv1.NamespaceScoped))
		Expect(crd.Spec.Names.ShortNames).To(BeEmpty())
		Expect(crd.Spec.Names.Kind).To(Equal("VirtualMachineSetResourcePolicy"))
	})
})
