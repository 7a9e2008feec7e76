// Package conditions reads and writes the status conditions of the product's objects (the
// vm-operator shape: type, status, severity, reason, message, lastTransitionTime), keeping a
// condition's transition time when only its reason or message changes.
package conditions

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	vmopv1 "github.com/vm-service/vm-service/api/vmoperator/v1alpha1"
)

// True is a True condition of type t.
func True(t vmopv1.ConditionType) vmopv1.Condition {
	return vmopv1.Condition{Type: t, Status: corev1.ConditionTrue}
}

// False is a False condition with a reason, a severity and a message.
func False(t vmopv1.ConditionType, reason string, severity vmopv1.ConditionSeverity, format string, args ...any) vmopv1.Condition {
	return vmopv1.Condition{Type: t, Status: corev1.ConditionFalse, Reason: reason, Severity: severity, Message: fmt.Sprintf(format, args...)}
}

// Unknown is an Unknown condition with a reason and a message.
func Unknown(t vmopv1.ConditionType, reason, format string, args ...any) vmopv1.Condition {
	return vmopv1.Condition{Type: t, Status: corev1.ConditionUnknown, Reason: reason, Message: fmt.Sprintf(format, args...)}
}

// Set puts c into conds, replacing the condition of the same type. The transition time moves
// only when the status changes, so it says since when the condition has held.
func Set(conds *vmopv1.Conditions, c vmopv1.Condition) {
	for i := range *conds {
		old := &(*conds)[i]
		if old.Type != c.Type {
			continue
		}
		c.LastTransitionTime = old.LastTransitionTime
		if old.Status != c.Status || c.LastTransitionTime.IsZero() {
			c.LastTransitionTime = metav1.Now().Rfc3339Copy()
		}
		*old = c
		return
	}
	c.LastTransitionTime = metav1.Now().Rfc3339Copy()
	*conds = append(*conds, c)
}

// Get returns the condition of type t, or nil.
func Get(conds vmopv1.Conditions, t vmopv1.ConditionType) *vmopv1.Condition {
	for i := range conds {
		if conds[i].Type == t {
			return &conds[i]
		}
	}
	return nil
}

// IsTrue says whether the condition of type t is present and True.
func IsTrue(conds vmopv1.Conditions, t vmopv1.ConditionType) bool {
	c := Get(conds, t)
	return c != nil && c.Status == corev1.ConditionTrue
}

// Delete removes the condition of type t, for a condition that is set only while something
// holds (such as Paused).
func Delete(conds *vmopv1.Conditions, t vmopv1.ConditionType) {
	out := (*conds)[:0]
	for _, c := range *conds {
		if c.Type != t {
			out = append(out, c)
		}
	}
	*conds = out
}
