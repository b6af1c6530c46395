package ports

// AuthMetrics counts security-relevant outcomes for monitoring. The
// adapter must be cheap and never fail.
type AuthMetrics interface {
	// Login counts a login attempt by outcome: success, failure, locked,
	// mfa_required, overloaded.
	Login(outcome string)
	// Lockout counts a login identifier reaching the failure threshold.
	Lockout()
}
