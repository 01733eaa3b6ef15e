/** ECS-style action names of mutating calls, for the audit log ("Unknown" otherwise; the entry keeps method and path). */
const ACTIONS: Array<[method: string, pattern: RegExp, action: string]> = [
  ["POST", /^\/v1\/clusters\/?$/, "CreateCluster"],
  ["DELETE", /^\/v1\/clusters\/[^/]+$/, "DeleteCluster"],
  ["PUT", /^\/v1\/clusters\/[^/]+\/policy$/, "PutClusterPolicy"],
  ["PUT", /^\/v1\/clusters\/[^/]+\/pull-limits$/, "PutPullLimits"],
  ["POST", /^\/v1\/clusters\/[^/]+\/activations$/, "CreateActivation"],
  ["DELETE", /^\/v1\/clusters\/[^/]+\/activations\/[^/]+$/, "DeleteActivation"],
  ["DELETE", /^\/v1\/clusters\/[^/]+\/container-instances\/[^/]+$/, "DeregisterContainerInstance"],
  ["PATCH", /^\/v1\/clusters\/[^/]+\/container-instances\/[^/]+$/, "UpdateContainerInstancesState"],
  ["PUT", /^\/v1\/clusters\/[^/]+\/attributes$/, "PutAttributes"],
  ["DELETE", /^\/v1\/clusters\/[^/]+\/attributes$/, "DeleteAttributes"],
  ["POST", /^\/v1\/clusters\/[^/]+\/deployment-windows$/, "CreateDeploymentWindow"],
  ["POST", /^\/v1\/clusters\/[^/]+\/deployment-windows\/override$/, "OverrideDeploymentWindows"],
  ["DELETE", /^\/v1\/clusters\/[^/]+\/deployment-windows\/overrides\/[^/]+$/, "DeleteDeploymentWindowOverride"],
  ["DELETE", /^\/v1\/clusters\/[^/]+\/deployment-windows\/[^/]+$/, "DeleteDeploymentWindow"],
  ["POST", /^\/v1\/clusters\/[^/]+\/image-prefetch$/, "CreateImagePrefetch"],
  ["POST", /^\/v1\/clusters\/[^/]+\/tasks$/, "RunTask"],
  ["POST", /^\/v1\/clusters\/[^/]+\/tasks\/start$/, "StartTask"],
  ["POST", /^\/v1\/clusters\/[^/]+\/tasks\/[^/]+\/stop$/, "StopTask"],
  ["POST", /^\/v1\/clusters\/[^/]+\/tasks\/[^/]+\/exec$/, "ExecuteCommand"],
  ["POST", /^\/v1\/clusters\/[^/]+\/services$/, "CreateService"],
  ["PUT", /^\/v1\/clusters\/[^/]+\/services\/[^/]+$/, "UpdateService"],
  ["PATCH", /^\/v1\/clusters\/[^/]+\/services\/[^/]+$/, "UpdateService"],
  ["DELETE", /^\/v1\/clusters\/[^/]+\/services\/[^/]+$/, "DeleteService"],
  ["POST", /^\/v1\/task-definitions\/?$/, "RegisterTaskDefinition"],
  ["DELETE", /^\/v1\/task-definitions\/[^/]+$/, "DeregisterTaskDefinition"],
  ["POST", /^\/v1\/tokens\/?$/, "CreateToken"],
  ["DELETE", /^\/v1\/tokens\/[^/]+$/, "DeleteToken"],
  ["POST", /^\/v1\/access-keys\/?$/, "CreateAccessKey"],
  ["DELETE", /^\/v1\/access-keys\/[^/]+$/, "DeleteAccessKey"],
  ["POST", /^\/v1\/secrets\/?$/, "CreateSecret"],
  ["DELETE", /^\/v1\/secrets\/.+$/, "DeleteSecret"],
  ["POST", /^\/v1\/webhooks\/?$/, "CreateWebhook"],
  ["DELETE", /^\/v1\/webhooks\/[^/]+$/, "DeleteWebhook"],
];

export function actionName(method: string, path: string): string {
  const m = method.toUpperCase();
  for (const [am, re, action] of ACTIONS) if (am === m && re.test(path)) return action;
  return "Unknown";
}
