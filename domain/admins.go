package domain

// The last-admin rules. Callers count the admins that remain candidates
// under a lock held until their change commits, so two concurrent
// demotions cannot both see a second admin.

// KeepSystemAdmin refuses to take away one of activeAdmins active system
// administrators when it is the last.
func KeepSystemAdmin(activeAdmins int) error {
	if activeAdmins <= 1 {
		return ErrLastSystemAdmin
	}
	return nil
}

// KeepOrgAdmin refuses to take away one of an organization's admins when
// it is the last: the organization would have nobody to manage it.
func KeepOrgAdmin(admins int) error {
	if admins <= 1 {
		return ErrLastOrgAdmin
	}
	return nil
}
