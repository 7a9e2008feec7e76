// Command manager runs VM Service's admission webhooks and controllers against a Kubernetes
// apiserver: in a supervisor cluster, or under the local supervisor of `make run`.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"go.uber.org/zap/zapcore"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/vm-service/vm-service/internal/enforcement"
	"github.com/vm-service/vm-service/internal/manager"
	"github.com/vm-service/vm-service/internal/ownership"
	"github.com/vm-service/vm-service/internal/vsphere"
	"github.com/vm-service/vm-service/internal/webhookcerts"
)

func main() {
	var (
		opts           manager.Options
		vc             manager.VCenterOptions
		credentialsDir string
	)
	flag.StringVar(&opts.MetricsAddr, "metrics-bind-address", ":8443", `address of the HTTPS metrics endpoint, readable with a token granted the metrics-reader role; "0" turns it off`)
	flag.StringVar(&opts.MetricsCertDir, "metrics-cert-dir", "", "directory holding the metrics endpoint's tls.crt and tls.key (default: a self-signed certificate)")
	flag.StringVar(&opts.HealthAddr, "health-probe-bind-address", ":8081", "address of the /healthz and /readyz endpoints")
	flag.StringVar(&opts.PprofAddr, "pprof-bind-address", "0", `address of Go's profiling endpoints (/debug/pprof/), unauthenticated, so bind it to loopback; "0" turns them off`)
	flag.BoolVar(&opts.LeaderElection, "leader-elect", false, "elect a leader so only one replica reconciles")
	flag.StringVar(&opts.LeaderElectionNamespace, "leader-election-namespace", "", "namespace of the leader lease (default: the pod's namespace)")
	flag.StringVar(&opts.WebhookHost, "webhook-host", "", "address the webhook server listens on (default: all)")
	flag.IntVar(&opts.WebhookPort, "webhook-port", 9443, "port the webhook server listens on")
	flag.StringVar(&opts.WebhookCertDir, "webhook-cert-dir", "/tmp/k8s-webhook-server/serving-certs", "directory holding the webhook server's tls.crt and tls.key")
	var certs webhookcerts.Options
	flag.StringVar(&certs.SecretName, "webhook-cert-secret", "", "Secret in which the manager keeps and renews its own webhook CA and serving certificate, writing it to --webhook-cert-dir and its CA into the webhook configurations; empty uses the files in --webhook-cert-dir as they are (for instance from cert-manager)")
	flag.StringVar(&certs.Namespace, "webhook-cert-namespace", os.Getenv("POD_NAMESPACE"), "namespace of --webhook-cert-secret and of the webhook Service (default: $POD_NAMESPACE)")
	flag.StringVar(&certs.ServiceName, "webhook-service", "vm-service-webhook-service", "the webhook Service, whose DNS names the certificate is for")
	validating := flag.String("validating-webhook-configuration", "vm-service-validating-webhook-configuration", "ValidatingWebhookConfiguration that gets the CA in its caBundle")
	mutating := flag.String("mutating-webhook-configuration", "vm-service-mutating-webhook-configuration", "MutatingWebhookConfiguration that gets the CA in its caBundle")
	opts.Enforcement = enforcement.Deny
	flag.StringVar(&opts.ManagerUser, "manager-user", ownership.DefaultManager, "username of the manager's own requests (its ServiceAccount's); only it and system:masters may remove the product's finalizers and write cluster owner references and the product's labels and annotations")
	flag.StringVar(&opts.ClusterEventSource, "cluster-event-source", manager.DefaultClusterEventSource, "component named on TanzuKubernetesCluster events; in a vSphere with Tanzu supervisor, "+manager.SupervisorClusterEventSource)
	flag.Var(&opts.Enforcement, "class-binding-enforcement", "Deny refuses VMs and clusters whose classes are not bound in their namespace; Warn admits them with a warning and the controllers report the failure")

	flag.StringVar(&vc.URL, "vcenter-url", "", "vCenter SDK URL, such as https://vcenter.example.com/sdk; empty runs admission only")
	flag.StringVar(&credentialsDir, "vcenter-credentials-dir", "/etc/vm-service/vcenter", "directory with files 'username' and 'password' (a mounted Secret); credentials are never taken from flags")
	flag.BoolVar(&vc.Insecure, "vcenter-insecure", false, "skip verifying vCenter's TLS certificate")
	flag.DurationVar(&vc.CallTimeout, "vcenter-call-timeout", vsphere.DefaultCallTimeout, "bound of each vCenter operation (logins and task waits included); a vCenter that does not answer in time is reported unreachable and the operation retried")
	flag.StringVar(&vc.Datacenter, "datacenter", "", "datacenter name (default: the only one)")
	flag.StringVar(&vc.Cluster, "supervisor-cluster", "", "the supervisor cluster; namespace resource pools go under it")
	flag.StringVar(&vc.Datastore, "datastore", "", "datastore VMs are deployed to (default: vCenter picks)")
	flag.StringVar(&vc.Network, "vm-network", "", "the namespaces' default workload network, which a NIC without a network type joins (default \"VM Network\")")
	flag.StringVar(&vc.ContentLibrary, "content-library", "", "content library whose items are the VM images")
	flag.DurationVar(&vc.SyncInterval, "vcenter-sync-interval", 5*time.Second, "how often vCenter's namespaces, VM classes and assignments are mirrored; 0 turns the mirror off")
	flag.DurationVar(&vc.ImageSyncInterval, "image-sync-interval", 30*time.Second, "how often the content library is read into VirtualMachineImages")
	flag.StringVar(&vc.IPPool, "vm-ip-pool", "", "static address pools for networks without DHCP, comma-separated: CIDR (the default network) or NETWORK=CIDR")
	// Errors are one line each: what failed and what to do; a stack trace says nothing more to
	// an operator (--zap-stacktrace-level brings them back).
	zapOpts := zap.Options{StacktraceLevel: zapcore.PanicLevel}
	zapOpts.BindFlags(flag.CommandLine)
	flag.Parse()
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&zapOpts)))
	log := ctrl.Log.WithName("setup")
	// SetupSignalHandler cancels on SIGINT/SIGTERM, so the manager drains and exits cleanly.
	ctx := ctrl.SetupSignalHandler()

	var checks []func() string
	if vc.URL != "" {
		checks = append(checks, neededFiles{"vCenter credentials", credentialsDir, []string{"username", "password"},
			"mount a Secret with keys username and password at --vcenter-credentials-dir"}.missing)
	}
	if certs.SecretName == "" {
		checks = append(checks, neededFiles{"webhook serving certificate", opts.WebhookCertDir, []string{"tls.crt", "tls.key"},
			"mount a Secret with tls.crt and tls.key at --webhook-cert-dir, or set --webhook-cert-secret for the manager to make its own"}.missing)
	} else {
		if certs.Namespace == "" {
			log.Error(nil, "--webhook-cert-secret needs a namespace: set --webhook-cert-namespace or POD_NAMESPACE (the Deployment sets it from the pod's namespace)")
			os.Exit(1)
		}
		certs.ValidatingConfigurations, certs.MutatingConfigurations = []string{*validating}, []string{*mutating}
		certs.CertDir = opts.WebhookCertDir
		opts.WebhookCerts = &certs
		checks = append(checks, certificateSecret(ctx, certs))
	}
	if !awaitPrerequisites(ctx, log, opts.HealthAddr, checks) {
		return // stopped while waiting
	}
	if vc.URL != "" {
		var err error
		if vc.Username, vc.Password, err = readCredentials(credentialsDir); err != nil {
			log.Error(err, "unable to read vCenter credentials")
			os.Exit(1)
		}
		opts.VCenter = &vc
	}
	mgr, err := manager.New(ctrl.GetConfigOrDie(), opts)
	if err != nil {
		log.Error(err, "unable to build the manager")
		os.Exit(1)
	}
	log.Info("starting manager", "classBindingEnforcement", opts.Enforcement, "vCenter", vc.String())
	if err := mgr.Start(ctx); err != nil {
		log.Error(err, "manager stopped with an error")
		os.Exit(1)
	}
}

// readCredentials reads the files a Kubernetes Secret with keys username and password mounts.
func readCredentials(dir string) (username, password string, err error) {
	read := func(name string) (string, error) {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return "", fmt.Errorf("vCenter %s: %w (mount a Secret with keys username and password at --vcenter-credentials-dir)", name, err)
		}
		return strings.TrimSpace(string(b)), nil
	}
	if username, err = read("username"); err != nil {
		return "", "", err
	}
	password, err = read("password")
	return username, password, err
}
