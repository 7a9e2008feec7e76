package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ConditionSeverity says how bad a False condition is; it is empty when the condition is True.
// +kubebuilder:validation:Enum=Error;Warning;Info;""
type ConditionSeverity string

const (
	// ConditionSeverityError means the object cannot make progress until someone acts.
	ConditionSeverityError ConditionSeverity = "Error"
	// ConditionSeverityWarning means the object works but something needs attention.
	ConditionSeverityWarning ConditionSeverity = "Warning"
	// ConditionSeverityInfo means the object is on its way and no action is needed.
	ConditionSeverityInfo ConditionSeverity = "Info"
	// ConditionSeverityNone is the severity of a True condition.
	ConditionSeverityNone ConditionSeverity = ""
)

// ConditionType names one aspect of an object's state, such as VirtualMachinePrereqReady.
type ConditionType string

// Condition is one observation of an object's state, in the shape Cluster API and vm-operator use.
type Condition struct {
	// Type of condition in CamelCase, such as VirtualMachinePrereqReady.
	// +required
	Type ConditionType `json:"type"`

	// Status of the condition: True, False or Unknown.
	// +kubebuilder:validation:Enum=True;False;Unknown
	// +required
	Status corev1.ConditionStatus `json:"status"`

	// Severity of a False condition: Error, Warning or Info.
	// +optional
	Severity ConditionSeverity `json:"severity,omitempty"`

	// LastTransitionTime is when the condition last changed status.
	// +optional
	LastTransitionTime metav1.Time `json:"lastTransitionTime,omitempty"`

	// Reason is a CamelCase token saying why the condition has its status.
	// +optional
	Reason string `json:"reason,omitempty"`

	// Message explains the reason to a person, naming what to fix.
	// +optional
	Message string `json:"message,omitempty"`
}

// Conditions is a list of conditions, at most one per type.
type Conditions []Condition
