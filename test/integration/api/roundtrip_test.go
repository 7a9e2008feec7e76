package api_test

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	upstreamv1 "github.com/vmware-tanzu/vm-operator-api/api/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	runv1 "github.com/vm-service/vm-service/api/run/v1alpha1"
	vmopv1 "github.com/vm-service/vm-service/api/vmoperator/v1alpha1"
	"github.com/vm-service/vm-service/test/objects"
)

// roundTrip writes obj (spec, then status when it has one) and reads it back into out.
func roundTrip(c client.Client, obj, out client.Object, withStatus bool) {
	status := obj.DeepCopyObject().(client.Object)
	Expect(c.Create(ctx, obj)).To(Succeed())
	if withStatus {
		status.SetResourceVersion(obj.GetResourceVersion())
		status.SetUID(obj.GetUID())
		Expect(c.Status().Update(ctx, status)).To(Succeed())
	}
	Expect(c.Get(ctx, client.ObjectKeyFromObject(obj), out)).To(Succeed())
}

var _ = Describe("Round trips", func() {
	var ns string
	BeforeEach(func() { ns = newNamespace() })

	It("keeps every field of a VirtualMachineClass, its status included", func() {
		in := objects.GuaranteedClass("roundtrip-class", 4, "16Gi")
		in.Spec.Policies.Resources.Limits = vmopv1.VirtualMachineResourceSpec{Cpu: resource.MustParse("8"), Memory: resource.MustParse("32Gi")}
		in.Spec.Hardware.Devices.VGPUDevices = []vmopv1.VGPUDevice{{ProfileName: "grid_p100-8q"}}
		in.Spec.Hardware.Devices.DynamicDirectPathIODevices = []vmopv1.DynamicDirectPathIODevice{{VendorID: 4318, DeviceID: 7864, CustomLabel: "nic"}}
		in.Status.Namespaces = []string{"a", "b"}
		in.Status.Conditions = vmopv1.Conditions{{Type: "Ready", Status: corev1.ConditionTrue, LastTransitionTime: metav1.Now().Rfc3339Copy()}}
		want := in.DeepCopy()
		DeferCleanup(k8s.Delete, ctx, in)

		out := &vmopv1.VirtualMachineClass{}
		roundTrip(k8s, in, out, true)
		Expect(equality.Semantic.DeepEqual(out.Spec, want.Spec)).To(BeTrue(), "spec: %+v", out.Spec)
		Expect(equality.Semantic.DeepEqual(out.Status, want.Status)).To(BeTrue(), "status: %+v", out.Status)
	})

	It("keeps every field of a VirtualMachine and a binding", func() {
		in := objects.VM(ns, "roundtrip-vm", "guaranteed-small", "ubuntu")
		in.Spec.Ports = []vmopv1.VirtualMachinePort{{Port: 22, Ip: "0.0.0.0", Name: "ssh", Protocol: corev1.ProtocolTCP}}
		in.Spec.VmMetadata = &vmopv1.VirtualMachineMetadata{ConfigMapName: "user-data", Transport: "OvfEnv"}
		in.Spec.NetworkInterfaces = []vmopv1.VirtualMachineNetworkInterface{{NetworkType: "vsphere-distributed", NetworkName: "primary"}}
		in.Spec.ReadinessProbe = &vmopv1.Probe{TCPSocket: &vmopv1.TCPSocketAction{Port: intstr.FromInt32(22)}, PeriodSeconds: 10, TimeoutSeconds: 3}
		in.Status = vmopv1.VirtualMachineStatus{
			Phase: vmopv1.Created, PowerState: vmopv1.VirtualMachinePoweredOn, Host: "esx-1", VmIp: "192.168.128.10",
			UniqueID: "vm-42", BiosUUID: "b", InstanceUUID: "i", ObservedGeneration: 1,
			Class: &vmopv1.AppliedClass{Name: "guaranteed-small", Generation: 1, Spec: objects.GuaranteedClass("x", 2, "4Gi").Spec},
		}
		want := in.DeepCopy()
		out := &vmopv1.VirtualMachine{}
		roundTrip(k8s, in, out, true)
		Expect(equality.Semantic.DeepEqual(out.Spec, want.Spec)).To(BeTrue(), "spec: %+v", out.Spec)
		Expect(equality.Semantic.DeepEqual(out.Status, want.Status)).To(BeTrue(), "status: %+v", out.Status)

		By("keeping the additions: guest data from a Secret, through cloud-init")
		cloud := objects.VM(ns, "roundtrip-cloud-init", "guaranteed-small", "ubuntu")
		cloud.Spec.VmMetadata = &vmopv1.VirtualMachineMetadata{SecretName: "user-data", Transport: vmopv1.VirtualMachineMetadataCloudInitTransport}
		gotCloud := &vmopv1.VirtualMachine{}
		roundTrip(k8s, cloud.DeepCopy(), gotCloud, false)
		Expect(gotCloud.Spec.VmMetadata).To(Equal(cloud.Spec.VmMetadata))

		By("defaulting a probe as upstream does")
		probed := objects.VM(ns, "roundtrip-probe", "guaranteed-small", "ubuntu")
		probed.Spec.ReadinessProbe = &vmopv1.Probe{GuestHeartbeat: &vmopv1.GuestHeartbeatAction{}}
		gotProbe := &vmopv1.VirtualMachine{}
		roundTrip(k8s, probed, gotProbe, false)
		Expect(*gotProbe.Spec.ReadinessProbe).To(Equal(vmopv1.Probe{
			GuestHeartbeat: &vmopv1.GuestHeartbeatAction{ThresholdStatus: "green"}, TimeoutSeconds: 10, PeriodSeconds: 10}))

		b := objects.Binding(ns, "not-the-class-name", "guaranteed-small")
		gotB := &vmopv1.VirtualMachineClassBinding{}
		roundTrip(k8s, b, gotB, false)
		Expect(gotB.ClassRef).To(Equal(objects.Binding(ns, "", "guaranteed-small").ClassRef))
	})

	It("keeps every field of a TanzuKubernetesCluster and a release", func() {
		in := objects.Cluster(ns, "roundtrip-tkc", "guaranteed-medium", "best-effort-medium")
		in.Spec.Distribution.FullVersion = "v1.20.2+vmware.1-tkg.2.3e10706"
		in.Spec.Topology.Workers.Volumes = []runv1.Volume{{Name: "containerd", MountPath: "/var/lib/containerd", Capacity: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("20Gi")}}}
		in.Spec.Settings = &runv1.Settings{
			Network: &runv1.Network{CNI: &runv1.CNIConfiguration{Name: "antrea"}, Pods: &runv1.NetworkRanges{CIDRBlocks: []string{"192.168.0.0/16"}}, ServiceDomain: "cluster.local"},
			Storage: &runv1.StorageClasses{Classes: []string{"gold"}, DefaultClass: "gold"},
		}
		in.Status = runv1.TanzuKubernetesClusterStatus{
			Phase:      runv1.PhaseFailed,
			NodeStatus: map[string]runv1.NodeState{"roundtrip-tkc-control-plane-abcde": runv1.NodeStatePending},
			VMStatus:   map[string]runv1.NodeState{"roundtrip-tkc-control-plane-abcde": runv1.NodeStatePending},
			Conditions: vmopv1.Conditions{{Type: "ControlPlaneReady", Status: corev1.ConditionFalse, Severity: vmopv1.ConditionSeverityError,
				Reason: "VirtualMachineClassBindingNotFound @ Machine/roundtrip-tkc-control-plane-abcde", LastTransitionTime: metav1.Now().Rfc3339Copy()}},
			Version: "v1.20.2",
		}
		want := in.DeepCopy()
		out := &runv1.TanzuKubernetesCluster{}
		roundTrip(k8s, in, out, true)
		Expect(equality.Semantic.DeepEqual(out.Spec, want.Spec)).To(BeTrue(), "spec: %+v", out.Spec)
		Expect(equality.Semantic.DeepEqual(out.Status, want.Status)).To(BeTrue(), "status: %+v", out.Status)

		tkr := objects.Release("v1.20.2+vmware.1-tkg.2.3e10706", "v1.20.2", "photon-3-k8s-v1.20.2")
		DeferCleanup(k8s.Delete, ctx, tkr)
		gotR := &runv1.TanzuKubernetesRelease{}
		roundTrip(k8s, tkr, gotR, false)
		Expect(gotR.Name).To(Equal("v1.20.2---vmware.1-tkg.2.3e10706"))
		Expect(gotR.Spec).To(Equal(tkr.Spec))
	})

	It("keeps every field of a VirtualMachineService, its status included", func() {
		in := objects.VMService(ns, "roundtrip-svc", "web")
		in.Spec.Type = vmopv1.VirtualMachineServiceTypeLoadBalancer
		in.Spec.ClusterIP = "None"
		in.Spec.LoadBalancerIP = "192.0.2.10"
		in.Spec.LoadBalancerSourceRanges = []string{"10.0.0.0/8"}
		in.Status = vmopv1.VirtualMachineServiceStatus{
			LoadBalancer: vmopv1.LoadBalancerStatus{Ingress: []vmopv1.LoadBalancerIngress{{IP: "192.0.2.10", Hostname: "lb.example.com"}}},
			ClusterIP:    "10.0.0.9", ObservedGeneration: 1,
			Conditions: vmopv1.Conditions{{Type: vmopv1.ServiceReadyCondition, Status: corev1.ConditionTrue, LastTransitionTime: metav1.Now().Rfc3339Copy()}},
		}
		want := in.DeepCopy()
		out := &vmopv1.VirtualMachineService{}
		roundTrip(k8s, in, out, true)
		Expect(equality.Semantic.DeepEqual(out.Spec, want.Spec)).To(BeTrue(), "spec: %+v", out.Spec)
		Expect(equality.Semantic.DeepEqual(out.Status, want.Status)).To(BeTrue(), "status: %+v", out.Status)
	})

	It("keeps every field of a VirtualMachineSetResourcePolicy, its status included", func() {
		in := &vmopv1.VirtualMachineSetResourcePolicy{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "roundtrip-policy"},
			Spec: vmopv1.VirtualMachineSetResourcePolicySpec{
				ResourcePool: vmopv1.ResourcePoolSpec{Name: "pool",
					Reservations: vmopv1.VirtualMachineResourceSpec{Cpu: resource.MustParse("1"), Memory: resource.MustParse("1Gi")},
					Limits:       vmopv1.VirtualMachineResourceSpec{Cpu: resource.MustParse("2"), Memory: resource.MustParse("2Gi")}},
				Folder:         vmopv1.FolderSpec{Name: "folder"},
				ClusterModules: []vmopv1.ClusterModuleSpec{{GroupName: "control-plane-group"}, {GroupName: "workers-group"}},
			},
			Status: vmopv1.VirtualMachineSetResourcePolicyStatus{
				ClusterModules:     []vmopv1.ClusterModuleStatus{{GroupName: "control-plane-group", ModuleUuid: "m-1"}},
				Conditions:         vmopv1.Conditions{{Type: "Ready", Status: corev1.ConditionTrue, LastTransitionTime: metav1.Now().Rfc3339Copy()}},
				ObservedGeneration: 1,
			},
		}
		want := in.DeepCopy()
		out := &vmopv1.VirtualMachineSetResourcePolicy{}
		roundTrip(k8s, in, out, true)
		Expect(equality.Semantic.DeepEqual(out.Spec, want.Spec)).To(BeTrue(), "spec: %+v", out.Spec)
		Expect(equality.Semantic.DeepEqual(out.Status, want.Status)).To(BeTrue(), "status: %+v", out.Status)
	})

	Context("with a client built on the public vm-operator v1alpha1 Go types", func() {
		var upstream client.Client
		BeforeEach(func() {
			s := runtime.NewScheme()
			Expect(upstreamv1.AddToScheme(s)).To(Succeed())
			var err error
			upstream, err = client.New(env.Config, client.Options{Scheme: s})
			Expect(err).NotTo(HaveOccurred())
		})

		It("writes and reads a VirtualMachine with every upstream field intact", func() {
			in := &upstreamv1.VirtualMachine{
				ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "upstream-vm"},
				Spec: upstreamv1.VirtualMachineSpec{
					ImageName: "ubuntu", ClassName: "best-effort-small", PowerState: upstreamv1.VirtualMachinePoweredOff,
					Ports:             []upstreamv1.VirtualMachinePort{{Port: 80, Ip: "0.0.0.0", Name: "http", Protocol: corev1.ProtocolTCP}},
					VmMetadata:        &upstreamv1.VirtualMachineMetadata{ConfigMapName: "md", Transport: upstreamv1.VirtualMachineMetadataExtraConfigTransport},
					StorageClass:      "gold",
					NetworkInterfaces: []upstreamv1.VirtualMachineNetworkInterface{{NetworkType: "nsx-t", NetworkName: "n", EthernetCardType: "vmxnet3", ProviderRef: &upstreamv1.NetworkInterfaceProviderReference{APIGroup: "g", Kind: "K", Name: "p"}}},
					Volumes:           []upstreamv1.VirtualMachineVolume{{Name: "data", PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "claim"}}},
					ReadinessProbe:    &upstreamv1.Probe{GuestHeartbeat: &upstreamv1.GuestHeartbeatAction{ThresholdStatus: upstreamv1.GreenHeartbeatStatus}, TimeoutSeconds: 5, PeriodSeconds: 7},
					AdvancedOptions:   &upstreamv1.VirtualMachineAdvancedOptions{ChangeBlockTracking: ptr.To(true), DefaultVolumeProvisioningOptions: &upstreamv1.VirtualMachineVolumeProvisioningOptions{ThinProvisioned: ptr.To(true)}},
				},
				Status: upstreamv1.VirtualMachineStatus{
					Host: "h", PowerState: upstreamv1.VirtualMachinePoweredOff, Phase: upstreamv1.Created, VmIp: "10.0.0.2",
					UniqueID: "vm-7", BiosUUID: "b", InstanceUUID: "i", ChangeBlockTracking: ptr.To(true),
					Conditions:        []upstreamv1.Condition{{Type: "VirtualMachinePrereqReady", Status: corev1.ConditionTrue, LastTransitionTime: metav1.Now().Rfc3339Copy()}},
					Volumes:           []upstreamv1.VirtualMachineVolumeStatus{{Name: "data", Attached: true, DiskUuid: "d", Error: ""}},
					NetworkInterfaces: []upstreamv1.NetworkInterfaceStatus{{Connected: true, MacAddress: "00:50:56:00:00:01", IpAddresses: []string{"10.0.0.2"}}},
				},
			}
			want := in.DeepCopy()
			out := &upstreamv1.VirtualMachine{}
			roundTrip(upstream, in, out, true)
			Expect(equality.Semantic.DeepEqual(out.Spec, want.Spec)).To(BeTrue(), "spec: %+v", out.Spec)
			Expect(equality.Semantic.DeepEqual(out.Status, want.Status)).To(BeTrue(), "status: %+v", out.Status)
		})

		It("writes and reads a VirtualMachineService with every upstream field intact, which this product's types read", func() {
			in := &upstreamv1.VirtualMachineService{
				ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "upstream-svc"},
				Spec: upstreamv1.VirtualMachineServiceSpec{
					Type:                     upstreamv1.VirtualMachineServiceTypeLoadBalancer,
					Ports:                    []upstreamv1.VirtualMachineServicePort{{Name: "apiserver", Protocol: "TCP", Port: 6443, TargetPort: 6443}},
					Selector:                 map[string]string{"cluster": "tkc"},
					LoadBalancerIP:           "192.0.2.11",
					LoadBalancerSourceRanges: []string{"192.0.2.0/24"},
					ClusterIP:                "None",
					ExternalName:             "ignored.example.com",
				},
				Status: upstreamv1.VirtualMachineServiceStatus{LoadBalancer: upstreamv1.LoadBalancerStatus{
					Ingress: []upstreamv1.LoadBalancerIngress{{IP: "192.0.2.11", Hostname: "h"}}}},
			}
			want := in.DeepCopy()
			out := &upstreamv1.VirtualMachineService{}
			roundTrip(upstream, in, out, true)
			Expect(equality.Semantic.DeepEqual(out.Spec, want.Spec)).To(BeTrue(), "spec: %+v", out.Spec)
			Expect(equality.Semantic.DeepEqual(out.Status, want.Status)).To(BeTrue(), "status: %+v", out.Status)

			ours := &vmopv1.VirtualMachineService{}
			Expect(k8s.Get(ctx, client.ObjectKeyFromObject(in), ours)).To(Succeed())
			Expect(ours.Spec.Ports).To(Equal([]vmopv1.VirtualMachineServicePort{{Name: "apiserver", Protocol: "TCP", Port: 6443, TargetPort: 6443}}))
			Expect(ours.Spec.ClusterIP).To(Equal("None"))
			Expect(ours.Status.LoadBalancer.Ingress).To(Equal([]vmopv1.LoadBalancerIngress{{IP: "192.0.2.11", Hostname: "h"}}))
		})

		It("writes and reads a VirtualMachineSetResourcePolicy with every upstream field intact, which this product's type reads", func() {
			in := &upstreamv1.VirtualMachineSetResourcePolicy{
				ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "upstream-policy"},
				Spec: upstreamv1.VirtualMachineSetResourcePolicySpec{
					ResourcePool: upstreamv1.ResourcePoolSpec{Name: "tkc-pool",
						Reservations: upstreamv1.VirtualMachineResourceSpec{Cpu: resource.MustParse("500m"), Memory: resource.MustParse("512Mi")},
						Limits:       upstreamv1.VirtualMachineResourceSpec{Cpu: resource.MustParse("4"), Memory: resource.MustParse("8Gi")}},
					Folder:         upstreamv1.FolderSpec{Name: "tkc-folder"},
					ClusterModules: []upstreamv1.ClusterModuleSpec{{GroupName: "control-plane-group"}, {GroupName: "node-pool-1"}},
				},
				Status: upstreamv1.VirtualMachineSetResourcePolicyStatus{
					ClusterModules: []upstreamv1.ClusterModuleStatus{{GroupName: "control-plane-group", ModuleUuid: "8a3c"}, {GroupName: "node-pool-1", ModuleUuid: "9b4d"}},
				},
			}
			want := in.DeepCopy()
			out := &upstreamv1.VirtualMachineSetResourcePolicy{}
			roundTrip(upstream, in, out, true)
			Expect(equality.Semantic.DeepEqual(out.Spec, want.Spec)).To(BeTrue(), "spec: %+v", out.Spec)
			Expect(equality.Semantic.DeepEqual(out.Status, want.Status)).To(BeTrue(), "status: %+v", out.Status)

			ours := &vmopv1.VirtualMachineSetResourcePolicy{}
			Expect(k8s.Get(ctx, client.ObjectKeyFromObject(in), ours)).To(Succeed())
			Expect(ours.Spec.ResourcePool.Name).To(Equal("tkc-pool"))
			Expect(ours.Spec.ResourcePool.Limits.Memory.String()).To(Equal("8Gi"))
			Expect(ours.Spec.Folder.Name).To(Equal("tkc-folder"))
			Expect(ours.Spec.ClusterModules).To(Equal([]vmopv1.ClusterModuleSpec{{GroupName: "control-plane-group"}, {GroupName: "node-pool-1"}}))
			Expect(ours.ModuleUUID("node-pool-1")).To(Equal("9b4d"))
		})

		It("writes classes and bindings that this product's types read", func() {
			class := &upstreamv1.VirtualMachineClass{
				ObjectMeta: metav1.ObjectMeta{Name: "upstream-class"},
				Spec: upstreamv1.VirtualMachineClassSpec{
					Hardware: upstreamv1.VirtualMachineClassHardware{Cpus: 2, Memory: resource.MustParse("4Gi")},
					Policies: upstreamv1.VirtualMachineClassPolicies{Resources: upstreamv1.VirtualMachineClassResources{
						Requests: upstreamv1.VirtualMachineResourceSpec{Cpu: resource.MustParse("2000m"), Memory: resource.MustParse("4Gi")}}},
				},
			}
			Expect(upstream.Create(ctx, class)).To(Succeed())
			DeferCleanup(upstream.Delete, ctx, class)
			binding := &upstreamv1.VirtualMachineClassBinding{
				ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "upstream-binding"},
				ClassRef:   upstreamv1.ClassReference{APIVersion: "vmoperator.vmware.com/v1alpha1", Kind: "VirtualMachineClass", Name: "upstream-class"},
			}
			Expect(upstream.Create(ctx, binding)).To(Succeed())

			ours := &vmopv1.VirtualMachineClass{}
			Expect(k8s.Get(ctx, nameOf("upstream-class"), ours)).To(Succeed())
			Expect(ours.Spec.Hardware.Cpus).To(BeEquivalentTo(2))
			Expect(ours.Spec.Policies.Resources.Requests.Cpu.MilliValue()).To(BeEquivalentTo(2000))
			oursB := &vmopv1.VirtualMachineClassBinding{}
			Expect(k8s.Get(ctx, client.ObjectKeyFromObject(binding), oursB)).To(Succeed())
			Expect(oursB.ClassRef.Name).To(Equal("upstream-class"))
		})
	})
})
