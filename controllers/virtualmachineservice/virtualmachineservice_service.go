package virtualmachineservice

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	vmopv1 "github.com/vm-service/vm-service/api/vmoperator/v1alpha1"
)

// ensureService creates or updates the core Service of the same name. A Service of that name the
// VirtualMachineService does not control is left alone and reported.
func (r *Reconciler) ensureService(ctx context.Context, s *scope) (ctrl.Result, error) {
	key := client.ObjectKeyFromObject(s.svc)
	service := &corev1.Service{}
	err := r.Client.Get(ctx, key, service)
	switch {
	case apierrors.IsNotFound(err):
		service = &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: key.Name}}
		desiredService(s.svc, service)
		if err := controllerutil.SetControllerReference(s.svc, service, r.Client.Scheme()); err != nil {
			return ctrl.Result{}, fmt.Errorf("own Service %s: %w", key, err)
		}
		if err := r.Client.Create(ctx, service); err != nil {
			return ctrl.Result{}, s.refused(fmt.Errorf("create Service %s: %w", key, err))
		}
		s.log.Info("created Service", "type", service.Spec.Type)
	case err != nil:
		return ctrl.Result{}, fmt.Errorf("read Service %s: %w", key, err)
	case !metav1.IsControlledBy(service, s.svc):
		s.nameTaken = holderOf(service)
		return ctrl.Result{}, nil
	default:
		before := service.DeepCopy()
		desiredService(s.svc, service)
		if !equality.Semantic.DeepEqual(before.Spec, service.Spec) {
			if err := r.Client.Patch(ctx, service, client.MergeFrom(before)); err != nil {
				return ctrl.Result{}, s.refused(fmt.Errorf("update Service %s: %w", key, err))
			}
			s.log.Info("updated Service", "type", service.Spec.Type)
		}
	}
	s.service = service
	return ctrl.Result{}, nil
}

// refused records a write the apiserver will refuse again until the spec changes (an invalid or
// forbidden Service) for status, and passes on any other error to be retried.
func (s *scope) refused(err error) error {
	if apierrors.IsInvalid(err) || apierrors.IsForbidden(err) || apierrors.IsBadRequest(err) {
		s.serviceErr = err
		return nil
	}
	return err
}

// holderOf says who controls a Service that is not ours, for the condition message.
func holderOf(service *corev1.Service) string {
	if ref := metav1.GetControllerOf(service); ref != nil {
		return fmt.Sprintf("controlled by %s %s", ref.Kind, ref.Name)
	}
	return "not controlled by this VirtualMachineService"
}

// desiredService sets the fields of service the VirtualMachineService decides, keeping those the
// apiserver allocated (cluster IP, node ports). It never sets a pod selector: the endpoints are
// the controller's EndpointSlices.
func desiredService(svc *vmopv1.VirtualMachineService, service *corev1.Service) {
	spec := &service.Spec
	spec.Type = corev1.ServiceType(svc.Spec.Type)
	spec.Selector = nil
	spec.ExternalName = ""
	if svc.Spec.Type == vmopv1.VirtualMachineServiceTypeExternalName {
		spec.ExternalName = svc.Spec.ExternalName
	} else if svc.Spec.ClusterIP != "" {
		spec.ClusterIP = svc.Spec.ClusterIP
	}
	nodePorts := map[int32]int32{}
	if spec.Type == corev1.ServiceTypeLoadBalancer {
		for _, p := range spec.Ports {
			nodePorts[p.Port] = p.NodePort
		}
	}
	ports := make([]corev1.ServicePort, 0, len(svc.Spec.Ports))
	for _, p := range svc.Spec.Ports {
		ports = append(ports, corev1.ServicePort{
			Name:       p.Name,
			Protocol:   protocolOf(p),
			Port:       p.Port,
			TargetPort: intstr.FromInt32(targetPortOf(p)),
			NodePort:   nodePorts[p.Port],
		})
	}
	spec.Ports = ports
}

// protocolOf is the port's protocol, TCP when empty, as for a Service.
func protocolOf(p vmopv1.VirtualMachineServicePort) corev1.Protocol {
	if p.Protocol == "" {
		return corev1.ProtocolTCP
	}
	return corev1.Protocol(p.Protocol)
}

// targetPortOf is the VM port traffic goes to: the port itself when targetPort is 0, as for a
// Service.
func targetPortOf(p vmopv1.VirtualMachineServicePort) int32 {
	if p.TargetPort == 0 {
		return p.Port
	}
	return p.TargetPort
}
