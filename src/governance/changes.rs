//! The deployment's governed changes, one constructor each: a credential type or tier defined or updated, a
//! role granted or revoked, a pause, and the AccessManager's execute and cancel of a scheduled operation.
//! Building a change does no I/O; [`Sender::apply`](super::Sender::apply) sends it.

use alloy::primitives::{Address, Bytes, U256};

use crate::chain::bindings::{AccessManager, CredentialRegistry, MembershipRegistry};
use crate::chain::deployment::Deployment;
use crate::chain::tx::encode;
use crate::domain::{TierId, TypeId};

/// How a change is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// A restricted function: at once when the signer may call it now, scheduled when its role has a delay.
    Governed,
    /// Sent as it is (the AccessManager's own execute and cancel).
    Direct,
}

/// One change: the audit action's name, the contract called, the calldata and how it is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The audit log's action name (`gov.type.create`, …).
    pub action: &'static str,
    /// The contract called.
    pub target: Address,
    /// ABI-encoded call of `target`; a governed change that must wait is scheduled with it.
    pub input: Bytes,
    /// How it is sent.
    pub route: Route,
}

/// What a pause or unpause applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PauseScope {
    /// One credential type.
    Type(TypeId),
    /// One membership tier.
    Tier(TierId),
    /// The whole credential registry.
    Credentials,
    /// The whole membership registry.
    Memberships,
}

impl Change {
    fn governed(action: &'static str, target: Address, input: Bytes) -> Self {
        Self {
            action,
            target,
            input,
            route: Route::Governed,
        }
    }

    /// Defines a credential type.
    pub fn define_type(d: &Deployment, policy: CredentialRegistry::TypePolicy) -> Self {
        let input = encode(CredentialRegistry::defineTypeCall { policy });
        Self::governed("gov.type.create", d.credential_registry, input)
    }

    /// Replaces a credential type's policy.
    pub fn update_type(d: &Deployment, id: TypeId, policy: CredentialRegistry::TypePolicy) -> Self {
        let input = encode(CredentialRegistry::updateTypeCall {
            typeId: U256::from(id.get()),
            policy,
        });
        Self::governed("gov.type.update", d.credential_registry, input)
    }

    /// Defines a membership tier.
    pub fn define_tier(d: &Deployment, policy: MembershipRegistry::TierPolicy) -> Self {
        let input = encode(MembershipRegistry::defineTierCall { policy });
        Self::governed("gov.tier.create", d.membership_registry, input)
    }

    /// Replaces a membership tier's policy.
    pub fn update_tier(d: &Deployment, id: TierId, policy: MembershipRegistry::TierPolicy) -> Self {
        let input = encode(MembershipRegistry::updateTierCall {
            tierId: U256::from(id.get()),
            policy,
        });
        Self::governed("gov.tier.update", d.membership_registry, input)
    }

    /// Grants an AccessManager role (with an execution delay, seconds) or revokes it.
    pub fn manager_role(
        d: &Deployment,
        role: u64,
        account: Address,
        grant: bool,
        delay: u32,
    ) -> Self {
        let input = if grant {
            encode(AccessManager::grantRoleCall {
                roleId: role,
                account,
                executionDelay: delay,
            })
        } else {
            encode(AccessManager::revokeRoleCall {
                roleId: role,
                account,
            })
        };
        Self::governed(role_action(grant), d.access_manager, input)
    }

    /// Sets an account's roles on one credential type to `roles` (the `TypeRoles` bits); `grant` names the
    /// audit action.
    pub fn type_roles(
        d: &Deployment,
        type_id: TypeId,
        account: Address,
        roles: u8,
        grant: bool,
    ) -> Self {
        let input = encode(CredentialRegistry::setTypeRolesCall {
            typeId: U256::from(type_id.get()),
            account,
            roles,
        });
        Self::governed(role_action(grant), d.credential_registry, input)
    }

    /// Makes an account a tier's manager, or removes it.
    pub fn tier_manager(d: &Deployment, tier: TierId, account: Address, allowed: bool) -> Self {
        let input = encode(MembershipRegistry::setTierManagerCall {
            tierId: U256::from(tier.get()),
            account,
            allowed,
        });
        Self::governed(role_action(allowed), d.membership_registry, input)
    }

    /// Pauses (or unpauses) a type, a tier or a whole registry.
    pub fn pause(d: &Deployment, scope: PauseScope, pause: bool) -> Self {
        let (target, input) = match (scope, pause) {
            (PauseScope::Type(id), true) => (
                d.credential_registry,
                encode(CredentialRegistry::pauseTypeCall {
                    typeId: U256::from(id.get()),
                }),
            ),
            (PauseScope::Type(id), false) => (
                d.credential_registry,
                encode(CredentialRegistry::unpauseTypeCall {
                    typeId: U256::from(id.get()),
                }),
            ),
            (PauseScope::Tier(id), true) => (
                d.membership_registry,
                encode(MembershipRegistry::pauseTierCall {
                    tierId: U256::from(id.get()),
                }),
            ),
            (PauseScope::Tier(id), false) => (
                d.membership_registry,
                encode(MembershipRegistry::unpauseTierCall {
                    tierId: U256::from(id.get()),
                }),
            ),
            (PauseScope::Credentials, true) => (
                d.credential_registry,
                encode(CredentialRegistry::pauseCall {}),
            ),
            (PauseScope::Credentials, false) => (
                d.credential_registry,
                encode(CredentialRegistry::unpauseCall {}),
            ),
            (PauseScope::Memberships, true) => (
                d.membership_registry,
                encode(MembershipRegistry::pauseCall {}),
            ),
            (PauseScope::Memberships, false) => (
                d.membership_registry,
                encode(MembershipRegistry::unpauseCall {}),
            ),
        };
        let action = if pause { "gov.pause" } else { "gov.unpause" };
        Self::governed(action, target, input)
    }

    /// Executes a scheduled operation whose delay has passed.
    pub fn execute(d: &Deployment, target: Address, data: Bytes) -> Self {
        Self {
            action: "gov.execute",
            target: d.access_manager,
            input: encode(AccessManager::executeCall { target, data }),
            route: Route::Direct,
        }
    }

    /// Cancels a scheduled operation (its scheduler, or a guardian).
    pub fn cancel(d: &Deployment, caller: Address, target: Address, data: Bytes) -> Self {
        Self {
            action: "gov.cancel",
            target: d.access_manager,
            input: encode(AccessManager::cancelCall {
                caller,
                target,
                data,
            }),
            route: Route::Direct,
        }
    }
}

fn role_action(grant: bool) -> &'static str {
    if grant {
        "gov.role.grant"
    } else {
        "gov.role.revoke"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::sol_types::SolCall;

    fn deployment() -> Deployment {
        let a = |n: u8| Address::with_last_byte(n);
        let contracts = crate::chain::deployment::Contracts {
            access_manager: a(1),
            credential_registry: a(2),
            membership_registry: a(3),
        };
        Deployment::single_admin(31337, 0, a(9), contracts, "")
    }

    #[test]
    fn a_pause_targets_the_registry_that_holds_its_scope() {
        let d = deployment();
        let c = Change::pause(&d, PauseScope::Type(TypeId::new(7).unwrap()), true);
        assert_eq!(
            (c.target, c.action, c.route),
            (d.credential_registry, "gov.pause", Route::Governed)
        );
        let call =
            CredentialRegistry::pauseTypeCall::abi_decode(&c.input).expect("pauseType calldata");
        assert_eq!(call.typeId, U256::from(7));
        let c = Change::pause(&d, PauseScope::Memberships, false);
        assert_eq!((c.target, c.action), (d.membership_registry, "gov.unpause"));
        assert_eq!(&c.input[..4], MembershipRegistry::unpauseCall::SELECTOR);
    }

    #[test]
    fn execute_and_cancel_go_to_the_access_manager_directly() {
        let d = deployment();
        let data = Bytes::from_static(&[1, 2, 3, 4]);
        let c = Change::execute(&d, d.credential_registry, data.clone());
        assert_eq!((c.target, c.route), (d.access_manager, Route::Direct));
        let call = AccessManager::executeCall::abi_decode(&c.input).expect("execute calldata");
        assert_eq!((call.target, call.data), (d.credential_registry, data));
        let c = Change::manager_role(&d, 3, d.membership_registry, false, 0);
        assert_eq!((c.target, c.action), (d.access_manager, "gov.role.revoke"));
    }
}
