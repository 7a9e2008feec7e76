package install_test

import (
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gexec"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/vmware/govmomi/vapi/namespace"

	vmopv1 "github.com/vm-service/vm-service/api/vmoperator/v1alpha1"
	"github.com/vm-service/vm-service/internal/clusternet"
	"github.com/vm-service/vm-service/internal/supervisor"
	"github.com/vm-service/vm-service/internal/vcsim"
	"github.com/vm-service/vm-service/test/testenv"
	"github.com/vm-service/vm-service/test/vcenter"
)

// What config/default installs and the manager uses; the spec checks they agree.
const (
	systemNamespace = "vm-service-system"
	serviceAccount  = "vm-service-controller-manager"
	webhookService  = "vm-service-webhook-service"
	certSecret      = "vm-service-webhook-certs"
	validatingName  = "vm-service-validating-webhook-configuration"
	mutatingName    = "vm-service-mutating-webhook-configuration"
	// endpointAddr is where the webhook Service's endpoint says the manager is: a documentation
	// address (TEST-NET-1), never dialled; the cluster network stand-in takes it to the manager's
	// port on loopback.
	endpointAddr = "192.0.2.10"
	webhookPort  = 9443 // the Service's targetPort
	userNS       = "cormac-new-ns"
)

var _ = Describe("kubectl apply -k config/default on a fresh apiserver", Ordered, func() {
	var (
		env        *testenv.Env
		sim        *vcsim.Simulator
		namespaces *namespace.Manager
		inspect    *vcenter.Inspector
		manager    *gexec.Session
		healthAddr string
		before     map[string]bool
	)

	BeforeAll(func() {
		loopbackWebhook := net.JoinHostPort("127.0.0.1", strconv.Itoa(testenv.FreePort()))
		proxy, err := clusternet.Start(map[string]string{net.JoinHostPort(endpointAddr, strconv.Itoa(webhookPort)): loopbackWebhook})
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(proxy.Stop)

		env, err = testenv.Start(bareControlPlane(proxy))
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(env.Stop)

		sim, err = vcsim.StartWith(vcsim.Options{DefaultStoragePolicy: vcsim.VSANDefaultPolicyID})
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(sim.Stop)
		Expect(sim.DefineStockClasses(ctx)).To(Succeed())
		Expect(sim.SeedLibrary(ctx, supervisor.ContentLibrary, supervisor.Images()...)).To(Succeed())
		rc, err := sim.RestClient(ctx)
		Expect(err).NotTo(HaveOccurred())
		namespaces = namespace.NewManager(rc)
		inspect, err = vcenter.Connect(ctx, sim.URL())
		Expect(err).NotTo(HaveOccurred())

		binary, err := gexec.Build("github.com/vm-service/vm-service/cmd/manager")
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(gexec.CleanupBuildArtifacts)

		before, err = objectsOf(env)
		Expect(err).NotTo(HaveOccurred())

		By("applying config/default server-side")
		out, err := kubectl(env, "apply", "--server-side", "-k", filepath.Join(testenv.RepoRoot(), "config", "default"))
		Expect(err).NotTo(HaveOccurred(), out)
		err = env.Client.Get(ctx, client.ObjectKey{Namespace: systemNamespace, Name: certSecret}, &corev1.Secret{})
		Expect(apierrors.IsNotFound(err)).To(BeTrue(), "the install makes no certificate Secret: the manager does (%v)", err)

		By("pointing the webhook Service at the manager, as the endpoint controller would at its pod")
		Expect(env.Client.Create(ctx, webhookEndpoints())).To(Succeed())

		By("running the manager as its ServiceAccount with the Deployment's flags")
		healthAddr = net.JoinHostPort("127.0.0.1", strconv.Itoa(testenv.FreePort()))
		host, port, _ := net.SplitHostPort(loopbackWebhook)
		cmd := exec.Command(binary, append(deploymentArgs(),
			// Where a pod's ports would be, on loopback.
			"--health-probe-bind-address="+healthAddr,
			"--metrics-bind-address="+net.JoinHostPort("127.0.0.1", strconv.Itoa(testenv.FreePort())),
			"--webhook-host="+host, "--webhook-port="+port,
			"--webhook-cert-dir="+GinkgoT().TempDir(),
			"--kubeconfig="+serviceAccountKubeconfig(env),
			// What an install's kustomize patch sets for its vCenter.
			"--vcenter-url="+sim.VSphereConfig("").URL, "--vcenter-credentials-dir="+credentials(sim), "--vcenter-insecure",
			"--supervisor-cluster="+vcsim.ClusterName, "--content-library="+supervisor.ContentLibrary,
		)...)
		cmd.Env = append(os.Environ(), "POD_NAMESPACE="+systemNamespace)
		manager, err = gexec.Start(cmd, GinkgoWriter, GinkgoWriter)
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(func() { manager.Kill().Wait(10 * time.Second) })
	})

	It("becomes ready with a certificate it made, its CA in both webhook configurations", func() {
		Eventually(func() (int, error) { return status(healthAddr, "/readyz") }).Should(Equal(http.StatusOK))
		Expect(env.Client.Get(ctx, client.ObjectKey{Namespace: systemNamespace, Name: certSecret}, &corev1.Secret{})).To(Succeed())
		v := &admissionregistrationv1.ValidatingWebhookConfiguration{}
		Expect(env.Client.Get(ctx, client.ObjectKey{Name: validatingName}, v)).To(Succeed())
		for _, w := range v.Webhooks {
			Expect(w.ClientConfig.CABundle).NotTo(BeEmpty(), w.Name)
			Expect(w.ClientConfig.Service.Name).To(Equal(webhookService))
		}
		m := &admissionregistrationv1.MutatingWebhookConfiguration{}
		Expect(env.Client.Get(ctx, client.ObjectKey{Name: mutatingName}, m)).To(Succeed())
		for _, w := range m.Webhooks {
			Expect(w.ClientConfig.CABundle).NotTo(BeEmpty(), w.Name)
		}
	})

	It("mirrors the admin's vCenter namespaces and refuses the walkthrough's cluster and an unbound VM through the Service", func() {
		// Walkthrough steps 2 to 4: one namespace with every stock class, so all exist, and the
		// developer's with guaranteed-large only.
		Expect(namespaces.CreateNamespace(ctx, namespace.NamespacesInstanceCreateSpec{
			Cluster: vcsim.ClusterName, Namespace: "new-namespace", VmServiceSpec: namespace.VmServiceSpec{VmClasses: vcsim.StockClassNames()},
		})).To(Succeed())
		Expect(namespaces.CreateNamespace(ctx, namespace.NamespacesInstanceCreateSpec{
			Cluster: vcsim.ClusterName, Namespace: userNS, VmServiceSpec: namespace.VmServiceSpec{VmClasses: []string{"guaranteed-large"}},
		})).To(Succeed())
		Eventually(func() error {
			return env.Client.Get(ctx, client.ObjectKey{Namespace: userNS, Name: "guaranteed-large"}, &vmopv1.VirtualMachineClassBinding{})
		}).Should(Succeed())
		Eventually(func() ([]vmopv1.VirtualMachineClass, error) {
			classes := &vmopv1.VirtualMachineClassList{}
			return classes.Items, env.Client.List(ctx, classes)
		}).Should(HaveLen(len(vcsim.StockClassNames())))

		out, err := kubectl(env, "apply", "-n", userNS, "-f", sample("run_v1alpha1_tanzukubernetescluster.yaml"))
		Expect(err).To(HaveOccurred())
		Expect(out).To(ContainSubstring(`spec.topology.controlPlane.class: Invalid value: "guaranteed-medium": VirtualMachineClass "guaranteed-medium" is not bound in namespace "cormac-new-ns" (bound here: guaranteed-large)`))
		Expect(out).To(ContainSubstring(`spec.topology.workers.class: Invalid value: "best-effort-medium": VirtualMachineClass "best-effort-medium" is not bound in namespace "cormac-new-ns" (bound here: guaranteed-large)`))

		out, err = kubectl(env, "apply", "-n", userNS, "-f", sample("vmoperator_v1alpha1_virtualmachine.yaml"))
		Expect(err).To(HaveOccurred())
		Expect(out).To(ContainSubstring(`spec.className: Invalid value: "guaranteed-medium": VirtualMachineClass "guaranteed-medium" is not bound in namespace "cormac-new-ns" (bound here: guaranteed-large)`))
	})

	It("deploys the VM in vSphere once the admin assigns its class", func() {
		Expect(namespaces.UpdateNamespace(ctx, userNS, namespace.NamespacesInstanceUpdateSpec{
			VmServiceSpec: namespace.VmServiceSpec{VmClasses: []string{"guaranteed-large", "guaranteed-medium"}},
		})).To(Succeed())
		Eventually(func() (string, error) {
			return kubectl(env, "apply", "-n", userNS, "-f", sample("vmoperator_v1alpha1_virtualmachine.yaml"))
		}).Should(ContainSubstring("virtualmachine.vmoperator.vmware.com/my-vm created"))
		Eventually(func() (string, error) {
			return kubectl(env, "get", "vm", "my-vm", "-n", userNS, "-o", "jsonpath={.status.powerState}")
		}).Should(Equal("poweredOn"))
		Expect(inspect.VMsNamed(ctx, "my-vm")).To(HaveLen(1))
	})

	It("uninstalls with kubectl delete -k, leaving nothing but what the user made", func() {
		By("deleting the user's VM while the manager runs, which removes it from vSphere")
		out, err := kubectl(env, "delete", "vm", "my-vm", "-n", userNS, "--timeout=60s")
		Expect(err).NotTo(HaveOccurred(), out)
		Expect(inspect.VMsNamed(ctx, "my-vm")).To(BeEmpty())

		By("stopping the manager as the kubelet would, which releases its lease")
		manager.Signal(syscall.SIGTERM)
		Eventually(manager).WithTimeout(30 * time.Second).Should(gexec.Exit(0))
		lease := &coordinationv1.Lease{}
		Expect(env.Client.Get(ctx, client.ObjectKey{Namespace: systemNamespace, Name: "vm-service-manager.vmoperator.vmware.com"}, lease)).To(Succeed())
		Expect(ptr.Deref(lease.Spec.HolderIdentity, "")).To(BeEmpty())

		out, err = kubectl(env, "delete", "-k", filepath.Join(testenv.RepoRoot(), "config", "default"), "--wait=false")
		Expect(err).NotTo(HaveOccurred(), out)
		Eventually(func() ([]string, error) {
			now, err := objectsOf(env)
			return leftovers(before, now), err
		}).Should(BeEmpty())
		ns := &corev1.Namespace{}
		Expect(env.Client.Get(ctx, client.ObjectKey{Name: systemNamespace}, ns)).To(Succeed())
		Expect(ns.DeletionTimestamp).NotTo(BeNil(), "the install's namespace is being deleted")
	})
})

// bareControlPlane is an apiserver with nothing of the product installed, which routes a Service
// to its endpoints (not to a cluster IP, as no proxy runs here) and sends that traffic through
// the cluster network stand-in.
func bareControlPlane(proxy *clusternet.Proxy) testenv.Option {
	return func(te *envtest.Environment) {
		te.CRDDirectoryPaths, te.ErrorIfCRDPathMissing = nil, false
		egress := filepath.Join(GinkgoT().TempDir(), "egress.yaml")
		Expect(os.WriteFile(egress, proxy.EgressSelectorConfiguration(), 0o600)).To(Succeed())
		api := te.ControlPlane.GetAPIServer()
		api.Out, api.Err = GinkgoWriter, GinkgoWriter // shown when a spec fails
		args := api.Configure()
		args.Set("enable-aggregator-routing", "true")
		args.Set("egress-selector-config-file", egress)
	}
}

// webhookEndpoints is the EndpointSlice the endpoint controller keeps for a ready manager pod.
func webhookEndpoints() *discoveryv1.EndpointSlice {
	return &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: systemNamespace, Name: webhookService + "-manager",
			Labels: map[string]string{discoveryv1.LabelServiceName: webhookService},
		},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{endpointAddr}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}}},
		Ports:       []discoveryv1.EndpointPort{{Name: ptr.To(""), Port: ptr.To[int32](webhookPort), Protocol: ptr.To(corev1.ProtocolTCP)}},
	}
}

// deploymentArgs are the manager container's arguments in config/default, as kustomize renders them.
func deploymentArgs() []string {
	GinkgoHelper()
	out, err := exec.Command("kubectl", "kustomize", filepath.Join(testenv.RepoRoot(), "config", "default")).Output()
	Expect(err).NotTo(HaveOccurred())
	decoder := yaml.NewYAMLOrJSONDecoder(strings.NewReader(string(out)), 4096)
	for {
		var d appsv1.Deployment
		err := decoder.Decode(&d)
		if errors.Is(err, io.EOF) {
			break
		}
		Expect(err).NotTo(HaveOccurred())
		if d.Kind == "Deployment" {
			Expect(d.Spec.Template.Spec.ServiceAccountName).To(Equal(serviceAccount))
			return d.Spec.Template.Spec.Containers[0].Args
		}
	}
	Fail("config/default has no Deployment")
	return nil
}

// serviceAccountKubeconfig is a kubeconfig with a token of the manager's ServiceAccount, which the
// TokenRequest API issues as the kubelet does for a pod: the manager holds only the install's RBAC.
func serviceAccountKubeconfig(env *testenv.Env) string {
	GinkgoHelper()
	cs, err := kubernetes.NewForConfig(env.Config)
	Expect(err).NotTo(HaveOccurred())
	token, err := cs.CoreV1().ServiceAccounts(systemNamespace).CreateToken(ctx, serviceAccount,
		&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](3600)}}, metav1.CreateOptions{})
	Expect(err).NotTo(HaveOccurred())
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["install"] = &clientcmdapi.Cluster{Server: env.Config.Host, CertificateAuthorityData: env.Config.CAData}
	cfg.AuthInfos[serviceAccount] = &clientcmdapi.AuthInfo{Token: token.Status.Token}
	cfg.Contexts["install"] = &clientcmdapi.Context{Cluster: "install", AuthInfo: serviceAccount}
	cfg.CurrentContext = "install"
	path := filepath.Join(GinkgoT().TempDir(), "manager.kubeconfig")
	Expect(clientcmd.WriteToFile(*cfg, path)).To(Succeed())
	return path
}

// credentials writes what the vCenter credentials Secret would mount and returns the directory.
func credentials(sim *vcsim.Simulator) string {
	GinkgoHelper()
	dir := GinkgoT().TempDir()
	cfg := sim.VSphereConfig("")
	Expect(os.WriteFile(filepath.Join(dir, "username"), []byte(cfg.Username), 0o600)).To(Succeed())
	Expect(os.WriteFile(filepath.Join(dir, "password"), []byte(cfg.Password), 0o600)).To(Succeed())
	return dir
}

func sample(name string) string { return filepath.Join(testenv.RepoRoot(), "config", "samples", name) }

func kubectl(env *testenv.Env, args ...string) (string, error) {
	stdout, stderr, err := env.Kubectl(ctx, args...)
	return stdout + stderr, err
}

// status is the HTTP status of a GET of path on the manager's health endpoint.
func status(addr, path string) (int, error) {
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get("http://" + addr + path)
	if err != nil {
		return 0, err
	}
	_ = resp.Body.Close()
	return resp.StatusCode, nil
}
