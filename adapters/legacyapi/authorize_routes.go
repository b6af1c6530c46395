package legacyapi

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/ums-project/ums/application"
	"github.com/ums-project/ums/domain"
)

// forwardedCheck is the body both authorization-forwarding routes share:
// user_id and lab_id, echoed back exactly as sent.
type forwardedCheck struct {
	rawUser, rawLab json.RawMessage
	user, lab       uuid.UUID
}

// readCheck reads and translates user_id and lab_id in the old order: both
// present, the caller allowed, then the user, then the lab.
func (a *API) readCheck(c echo.Context, f *form, forbidden, userMissing string) (forwardedCheck, error) {
	ctx := c.Request().Context()
	fc := forwardedCheck{rawUser: f.raw["user_id"], rawLab: f.raw["lab_id"]}
	oldUser, ok1 := oldInt(fc.rawUser)
	oldLab, ok2 := oldInt(fc.rawLab)
	if !ok1 || !ok2 || oldUser == 0 || oldLab == 0 {
		return fc, failure(http.StatusBadRequest, "user_id and lab_id are required")
	}
	user, err := a.ids.new(ctx, legacyUser, oldUser)
	if err != nil && !errors.Is(err, domain.ErrUserNotFound) {
		return fc, err
	}
	if user != principal(c).UserID {
		// Asking about someone else needs a system admin, whether or not
		// that someone exists.
		caller, err := a.caller(c)
		if err != nil {
			return fc, err
		}
		if !caller.SystemAdmin {
			return fc, failure(http.StatusForbidden, forbidden)
		}
	}
	if user == uuid.Nil {
		return fc, failure(http.StatusNotFound, userMissing)
	}
	if fc.lab, err = a.ids.new(ctx, legacyLab, oldLab); errors.Is(err, domain.ErrOrgNotFound) {
		return fc, failure(http.StatusNotFound, "Lab not found")
	} else if err != nil {
		return fc, err
	}
	fc.user = user
	return fc, nil
}

type authorizeAnswer struct {
	AllUserAttributes []string        `json:"all_user_attributes"`
	GrantedAttributes []string        `json:"granted_attributes"`
	HasAccess         bool            `json:"has_access"`
	IsSystemAdmin     bool            `json:"is_system_admin"`
	LabID             json.RawMessage `json:"lab_id"`
	LabName           string          `json:"lab_name"`
	MissingAttributes []string        `json:"missing_attributes"`
	UserID            json.RawMessage `json:"user_id"`
}

// authorize is the old "may user U do these in lab L?": denial is a 200
// with has_access false, as before. The answer is UMS's one /authorize
// decision; granted and missing keep the request's order (duplicates
// too), the full list is sorted.
func (a *API) authorize(c echo.Context) error {
	f, err := a.bindLoose(c)
	if err != nil {
		return err
	}
	fc, err := a.readCheck(c, f, "Insufficient permissions to check authorization for other users", "User not found or inactive")
	if err != nil {
		return err
	}
	var required []string
	if raw, ok := f.raw["required_attributes"]; ok && string(raw) != "null" {
		if json.Unmarshal(raw, &required) != nil {
			return failure(http.StatusBadRequest, "required_attributes must be a list of attribute names")
		}
	}
	// Names UMS could never hold are simply not held.
	var valid []string
	for _, name := range required {
		if _, fe := domain.ParsePermissionName("required_attributes", name); fe == nil {
			valid = append(valid, strings.TrimSpace(name))
		}
	}
	ans, err := a.decide(c, fc, valid)
	if err != nil {
		return err
	}
	if !ans.UserActive {
		return failure(http.StatusNotFound, "User not found or inactive")
	}
	if !ans.OrgExists {
		return failure(http.StatusNotFound, "Lab not found")
	}
	held := map[string]bool{}
	for _, p := range ans.Granted {
		held[p] = true
	}
	out := authorizeAnswer{AllUserAttributes: nonNil(ans.Permissions), GrantedAttributes: []string{},
		MissingAttributes: []string{}, IsSystemAdmin: ans.IsSystemAdmin, LabID: fc.rawLab, LabName: ans.OrgName,
		UserID: fc.rawUser}
	for _, name := range required {
		if held[strings.TrimSpace(name)] {
			out.GrantedAttributes = append(out.GrantedAttributes, name)
		} else {
			out.MissingAttributes = append(out.MissingAttributes, name)
		}
	}
	out.HasAccess = len(out.MissingAttributes) == 0
	return c.JSON(http.StatusOK, out)
}

// decide asks UMS's /authorize decision for the check.
func (a *API) decide(c echo.Context, fc forwardedCheck, perms []string) (application.Answer, error) {
	var subject *uuid.UUID
	if fc.user != principal(c).UserID {
		subject = &fc.user
	}
	answers, err := a.svc.Permissions.Authorize(c.Request().Context(), principal(c), subject,
		[]application.Check{{OrgID: fc.lab, Permissions: perms}})
	if err != nil {
		return application.Answer{}, err
	}
	return answers[0], nil
}

type userAttributesAnswer struct {
	Attributes []string        `json:"attributes"`
	IsAdmin    bool            `json:"is_admin"`
	LabCode    string          `json:"lab_code"`
	LabID      json.RawMessage `json:"lab_id"`
	LabName    string          `json:"lab_name"`
	UserID     json.RawMessage `json:"user_id"`
	Username   string          `json:"username"`
}

// userAttributes lists what the user holds in the lab (an inactive user
// is allowed here, as before, and holds nothing).
func (a *API) userAttributes(c echo.Context) error {
	f, err := a.bindLoose(c)
	if err != nil {
		return err
	}
	fc, err := a.readCheck(c, f, "Insufficient permissions", "User not found")
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	var u *domain.User
	if fc.user == principal(c).UserID {
		u, err = a.svc.Profiles.Me(ctx, fc.user)
	} else {
		u, err = a.svc.Directory.Get(ctx, principal(c), fc.user)
	}
	if err != nil {
		return err
	}
	ans, err := a.decide(c, fc, nil)
	if err != nil {
		return err
	}
	if !ans.OrgExists {
		return failure(http.StatusNotFound, "Lab not found")
	}
	return c.JSON(http.StatusOK, userAttributesAnswer{Attributes: nonNil(ans.Permissions), IsAdmin: u.IsSystemAdmin(),
		LabCode: strings.ToUpper(ans.OrgSlug), LabID: fc.rawLab, LabName: ans.OrgName, UserID: fc.rawUser,
		Username: u.Username().String()})
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
