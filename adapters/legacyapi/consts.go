package legacyapi

import "github.com/ums-project/ums/ports"

// The kinds of integer ids the old API speaks.
const (
	legacyUser = ports.LegacyIDUser
	legacyLab  = ports.LegacyIDLab
)
