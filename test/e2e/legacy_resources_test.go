package e2e

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestLegacyUserLabAndAuthorizeRoutes walks pairs 11–30 of lhums-api.md
// §0: the authorization forwarding, /api/users and /api/labs, with
// integer ids both ways, on both stores.
func TestLegacyUserLabAndAuthorizeRoutes(t *testing.T) {
	for name, url := range dialects {
		t.Run(name, func(t *testing.T) {
			w := newLegacyWorld(t, url(t), nil)
			s := w.s
			admin, _ := w.login(t, 5) // eve, system admin
			alice, _ := w.login(t, 1) // admin of lab 1
			bob, _ := w.login(t, 2)   // member of lab 1

			t.Run("authorize", func(t *testing.T) {
				check := func(token string, body map[string]any) legacyRes {
					return s.legacy(t, http.MethodPost, "/auth/authorize", token, body)
				}
				res := check(bob, map[string]any{"user_id": 2, "lab_id": 1,
					"required_attributes": []string{"lab.patient.read", "lab.patient.write", "lab.patient.read", "no such thing"}})
				require.Equal(t, http.StatusOK, res.Status, string(res.Body))
				body := res.JSON(t)
				assert.Equal(t, false, body["has_access"], "denial is a 200")
				assert.Equal(t, []any{"lab.patient.read", "lab.patient.write", "lab.patient.read"}, body["granted_attributes"],
					"in request order, duplicates kept")
				assert.Equal(t, []any{"no such thing"}, body["missing_attributes"])
				assert.Equal(t, "Genomics Lab", body["lab_name"])
				assert.EqualValues(t, 2, body["user_id"])
				assert.Equal(t, false, body["is_system_admin"])
				assert.NotEmpty(t, body["all_user_attributes"])
				ok := check(bob, map[string]any{"user_id": 2, "lab_id": 1, "required_attributes": []string{"lab.patient.read"}})
				assert.Equal(t, true, ok.JSON(t)["has_access"])
				none := check(bob, map[string]any{"user_id": 2, "lab_id": 1})
				assert.Equal(t, true, none.JSON(t)["has_access"], "nothing required: true, as before")

				assert.Equal(t, "user_id and lab_id are required",
					assertFamily(t, check(bob, map[string]any{"lab_id": 1}), http.StatusBadRequest, "error", "missing")["error"])
				assertFamily(t, check(bob, map[string]any{"user_id": 1, "lab_id": 1}), http.StatusForbidden, "error", "someone else")
				assertFamily(t, check(admin, map[string]any{"user_id": 999, "lab_id": 1}), http.StatusNotFound, "error", "no user")
				assertFamily(t, check(admin, map[string]any{"user_id": 4, "lab_id": 1}), http.StatusNotFound, "error", "inactive user")
				assert.Equal(t, "Lab not found",
					assertFamily(t, check(admin, map[string]any{"user_id": 2, "lab_id": 999}), http.StatusNotFound, "error", "no lab")["error"])
				sys := check(admin, map[string]any{"user_id": "2", "lab_id": 1})
				require.Equal(t, http.StatusOK, sys.Status)
				assert.Equal(t, "2", sys.JSON(t)["user_id"], "echoed exactly as sent")

				attrs := s.legacy(t, http.MethodPost, "/auth/user-attributes", bob, map[string]any{"user_id": 2, "lab_id": 1})
				require.Equal(t, http.StatusOK, attrs.Status, string(attrs.Body))
				a := attrs.JSON(t)
				assert.Equal(t, "bob", a["username"])
				assert.Equal(t, "GEN", a["lab_code"])
				assert.IsType(t, []any{}, a["attributes"])
				assertFamily(t, s.legacy(t, http.MethodPost, "/auth/user-attributes", bob, map[string]any{"user_id": 1, "lab_id": 1}),
					http.StatusForbidden, "error", "someone else's")
			})

			t.Run("users", func(t *testing.T) {
				page := s.legacy(t, http.MethodGet, "/users?page=1&per_page=5", admin, nil)
				require.Equal(t, http.StatusOK, page.Status, string(page.Body))
				p := page.JSON(t)
				assert.EqualValues(t, 1, p["page"])
				assert.Len(t, p["users"], 5)
				total := p["total"].(float64)
				assert.EqualValues(t, int((total+4)/5), p["pages"])
				for _, u := range p["users"].([]any) {
					assertShape(t, u, oldUserKeys, "listed user")
				}
				past := s.legacy(t, http.MethodGet, "/users?page=99&per_page=abc", admin, nil).JSON(t)
				assert.Empty(t, past["users"], "a page past the end is empty")
				assert.EqualValues(t, 99, past["page"])
				assert.Equal(t, "Admin privileges required",
					assertFamily(t, s.legacy(t, http.MethodGet, "/users", bob, nil), http.StatusForbidden, "error", "not an admin")["error"])

				own := s.legacy(t, http.MethodGet, "/users/2", bob, nil)
				require.Equal(t, http.StatusOK, own.Status)
				assertShape(t, own.JSON(t)["user"], oldUserKeys, "own user")
				assert.Equal(t, "Unauthorized",
					assertFamily(t, s.legacy(t, http.MethodGet, "/users/1", bob, nil), http.StatusForbidden, "error", "someone else")["error"])
				assertFamily(t, s.legacy(t, http.MethodGet, "/users/999", bob, nil), http.StatusForbidden, "error", "unknown, not an admin")
				assertFamily(t, s.legacy(t, http.MethodGet, "/users/999", admin, nil), http.StatusNotFound, "error", "unknown, admin")
				assert.Equal(t, "Resource not found",
					assertFamily(t, s.legacy(t, http.MethodGet, "/users/abc", admin, nil), http.StatusNotFound, "error", "not digits")["error"])

				for _, method := range []string{http.MethodPut, http.MethodPatch} {
					res := s.legacy(t, method, "/users/2", bob, map[string]any{"first_name": "Robert-" + method})
					require.Equal(t, http.StatusOK, res.Status, string(res.Body))
					body := res.JSON(t)
					assert.Equal(t, "User updated successfully", body["message"])
					assert.Equal(t, "Robert-"+method, body["user"].(map[string]any)["first_name"])
				}
				assertFamily(t, s.legacy(t, http.MethodPatch, "/users/2", bob, map[string]any{"is_admin": true}),
					http.StatusBadRequest, "errors", "unknown field")
				assertFamily(t, s.legacy(t, http.MethodPatch, "/users/2", bob, map[string]any{"email": "elsewhere@example.com"}),
					http.StatusBadRequest, "errors", "a new address needs verification")
				off := s.legacy(t, http.MethodPatch, "/users/3", admin, map[string]any{"is_active": "no"})
				require.Equal(t, http.StatusOK, off.Status, string(off.Body))
				assert.Equal(t, false, off.JSON(t)["user"].(map[string]any)["is_active"], "marshmallow's lenient booleans")
				on := s.legacy(t, http.MethodPatch, "/users/3", admin, map[string]any{"is_active": 1})
				assert.Equal(t, true, on.JSON(t)["user"].(map[string]any)["is_active"])

				labs := s.legacy(t, http.MethodGet, "/users/1/labs", alice, nil)
				require.Equal(t, http.StatusOK, labs.Status, string(labs.Body))
				ms := labs.JSON(t)["memberships"].([]any)
				require.NotEmpty(t, ms, "the shape the old service meant, not its 500")
				assertShape(t, ms[0], oldMembershipKeys, "membership")
				assertShape(t, ms[0].(map[string]any)["lab"], oldLabKeys, "membership.lab")

				res := s.legacy(t, http.MethodPost, "/users/13/force-password-change", admin, nil)
				require.Equal(t, http.StatusOK, res.Status, string(res.Body))
				second := w.user(t, 13)
				assertFamily(t, s.legacy(t, http.MethodPost, "/auth/login", "", map[string]any{"username": second.Email,
					"password": second.Password}), http.StatusForbidden, "error", "forced change holds")
				assert.Equal(t, "Account unlocked successfully", s.legacy(t, http.MethodPost, "/users/11/unlock", admin, nil).JSON(t)["message"])
				assert.Equal(t, "Account is not locked", s.legacy(t, http.MethodPost, "/users/11/unlock", admin, nil).JSON(t)["message"])
				heidi := w.user(t, 11)
				assert.Equal(t, http.StatusOK, s.legacy(t, http.MethodPost, "/auth/login", "", map[string]any{"username": heidi.Username,
					"password": heidi.Password}).Status, "unlocked")
				assertFamily(t, s.legacy(t, http.MethodPost, "/users/11/unlock", bob, nil), http.StatusForbidden, "error", "not an admin")

				assertFamily(t, s.legacy(t, http.MethodDelete, "/users/14", bob, nil), http.StatusForbidden, "error", "not an admin")
				del := s.legacy(t, http.MethodDelete, "/users/14", admin, nil)
				require.Equal(t, http.StatusOK, del.Status, string(del.Body))
				assert.Equal(t, "User deleted successfully", del.JSON(t)["message"])
				assertFamily(t, s.legacy(t, http.MethodGet, "/users/14", admin, nil), http.StatusNotFound, "error", "erased")
			})

			t.Run("labs", func(t *testing.T) {
				list := s.legacy(t, http.MethodGet, "/labs", bob, nil)
				require.Equal(t, http.StatusOK, list.Status)
				labs := list.JSON(t)["labs"].([]any)
				require.Len(t, labs, 1, "bob's active labs: Genomics (Old Lab is inactive)")
				assertShape(t, labs[0], oldLabKeys, "lab")
				assert.Len(t, s.legacy(t, http.MethodGet, "/labs", admin, nil).JSON(t)["labs"], 2, "an admin sees every active lab")

				created := s.legacy(t, http.MethodPost, "/labs", admin, map[string]any{"name": "Cryo Lab", "code": "CRL"})
				require.Equal(t, http.StatusCreated, created.Status, string(created.Body))
				lab := created.JSON(t)["lab"].(map[string]any)
				assert.Equal(t, "CRL", lab["code"])
				labID := int64(lab["id"].(float64))
				assert.Greater(t, labID, int64(3), "a new lab gets an integer id above the imported ones")
				assertFamily(t, s.legacy(t, http.MethodPost, "/labs", admin, map[string]any{"name": "Dup", "code": "CRL"}),
					http.StatusBadRequest, "errors", "code taken")
				assertFamily(t, s.legacy(t, http.MethodPost, "/labs", admin, map[string]any{"name": "X", "is_active": true}),
					http.StatusBadRequest, "errors", "too short, missing code, unknown field")
				assertFamily(t, s.legacy(t, http.MethodPost, "/labs", alice, map[string]any{"name": "Nope Lab", "code": "NOPE"}),
					http.StatusForbidden, "error", "a lab admin is no system admin")

				lab1 := s.legacy(t, http.MethodGet, "/labs/1", bob, nil)
				require.Equal(t, http.StatusOK, lab1.Status)
				assertShape(t, lab1.JSON(t)["lab"], oldLabKeys, "lab")
				assert.Equal(t, "Access to this lab is forbidden",
					assertFamily(t, s.legacy(t, http.MethodGet, "/labs/2", bob, nil), http.StatusForbidden, "error", "not a member")["error"])
				assertFamily(t, s.legacy(t, http.MethodGet, "/labs/999", bob, nil), http.StatusForbidden, "error", "missing, not an admin")
				assertFamily(t, s.legacy(t, http.MethodGet, "/labs/999", admin, nil), http.StatusNotFound, "error", "missing, admin")

				path := fmt.Sprintf("/labs/%d", labID)
				for _, method := range []string{http.MethodPut, http.MethodPatch} {
					res := s.legacy(t, method, path, admin, map[string]any{"name": "Cryo " + method, "code": "IGNORED", "extra": 1})
					require.Equal(t, http.StatusOK, res.Status, string(res.Body))
					assert.Equal(t, "Cryo "+method, res.JSON(t)["lab"].(map[string]any)["name"])
					assert.Equal(t, "CRL", res.JSON(t)["lab"].(map[string]any)["code"], "the code never changes")
				}
				assertFamily(t, s.legacy(t, http.MethodPatch, path, alice, map[string]any{"name": "x"}), http.StatusForbidden, "error", "not a system admin")
				assertFamily(t, s.legacy(t, http.MethodDelete, path, alice, nil), http.StatusForbidden, "error", "deleting needs a system admin too")

				members := s.legacy(t, http.MethodGet, "/labs/1/members", bob, nil)
				require.Equal(t, http.StatusOK, members.Status, string(members.Body))
				mlist := members.JSON(t)["members"].([]any)
				require.NotEmpty(t, mlist)
				for _, m := range mlist {
					assertShape(t, m, oldMembershipKeys, "member")
				}

				added := s.legacy(t, http.MethodPost, "/labs/1/members", alice, map[string]any{"user_id": "7", "role": "viewer"})
				require.Equal(t, http.StatusCreated, added.Status, string(added.Body))
				assert.Equal(t, "Member added successfully", added.JSON(t)["message"])
				assertShape(t, added.JSON(t)["membership"], oldMembershipKeys, "membership")
				assert.Equal(t, "User is already a member of this lab",
					assertFamily(t, s.legacy(t, http.MethodPost, "/labs/1/members", alice, map[string]any{"user_id": 7}),
						http.StatusBadRequest, "error", "twice")["error"])
				assertFamily(t, s.legacy(t, http.MethodPost, "/labs/1/members", alice, map[string]any{"user_id": 999}),
					http.StatusNotFound, "error", "no such user")
				assertFamily(t, s.legacy(t, http.MethodPost, "/labs/1/members", alice, map[string]any{"user_id": 7, "role": "owner"}),
					http.StatusBadRequest, "errors", "bad role")
				assert.Equal(t, "Lab admin privileges required",
					assertFamily(t, s.legacy(t, http.MethodPost, "/labs/1/members", bob, map[string]any{"user_id": 12}),
						http.StatusForbidden, "error", "a member is no lab admin")["error"])

				role := s.legacy(t, http.MethodPatch, "/labs/1/members/7/role", alice, map[string]any{"role": "member"})
				require.Equal(t, http.StatusOK, role.Status, string(role.Body))
				assert.Equal(t, "member", role.JSON(t)["membership"].(map[string]any)["role"])
				assert.Equal(t, "Invalid role", assertFamily(t, s.legacy(t, http.MethodPatch, "/labs/1/members/7/role", alice,
					map[string]any{"role": "boss"}), http.StatusBadRequest, "error", "bad role")["error"])
				removed := s.legacy(t, http.MethodDelete, "/labs/1/members/7", alice, nil)
				require.Equal(t, http.StatusOK, removed.Status, string(removed.Body))
				assert.Equal(t, "Member removed successfully", removed.JSON(t)["message"])
				assert.Equal(t, "Membership not found", assertFamily(t, s.legacy(t, http.MethodDelete, "/labs/1/members/7", alice, nil),
					http.StatusNotFound, "error", "gone")["error"])

				deleted := s.legacy(t, http.MethodDelete, path, admin, nil)
				require.Equal(t, http.StatusOK, deleted.Status, string(deleted.Body))
				assert.Equal(t, "Lab deleted successfully", deleted.JSON(t)["message"])
				assert.Len(t, s.legacy(t, http.MethodGet, "/labs", admin, nil).JSON(t)["labs"], 2, "a deleted lab is no longer listed")
			})
		})
	}
}
