/**
 * What the AWS JSON front door needs to know of each service's model, taken from botocore's service
 * definitions (botocore/data/ecs/2014-11-13/service-2.json, botocore/data/ssm/2014-11-06/service-2.json):
 * which members are timestamps (written as epoch seconds), which are maps (their keys are the user's,
 * never member names, so they are not walked), which exception names the service has, and its one
 * server fault. Regenerate the lists from the models when a service gains members.
 */
export interface ServiceModel {
  /** Structure members the model types as `timestamp`. */
  timestampMembers: ReadonlySet<string>;
  /** Structure members the model types as `map` (user keys inside: not converted). */
  mapMembers: ReadonlySet<string>;
  /** The service's exception shapes; an operation's code outside this set is mapped by kind. */
  exceptions: ReadonlySet<string>;
  /** The exception answered with HTTP 500 (the model's only `fault`). */
  serverFault: string;
  /** What an operation's invalid input is called in this service. */
  invalidParameter: string;
  /** What ECS calls a well-formed request that names something unusable. */
  clientError: string;
}

export const ECS_TARGET_PREFIX = "AmazonEC2ContainerServiceV20141113";

export const ECS_MODEL: ServiceModel = {
  timestampMembers: new Set([
    "after", "before", "connectivityAt", "createdAt", "deleteRequestedAt", "deregisteredAt", "executionStoppedAt",
    "expirationDate", "expiresAt", "finishedAt", "lastStartedAt", "lastStatusChange", "lastUpdated", "pullStartedAt",
    "pullStoppedAt", "registeredAt", "stabilityStatusAt", "startedAt", "stoppedAt", "stoppingAt", "updatedAt",
  ]),
  mapMembers: new Set([
    "dockerLabels", "driverOpts", "labels", "options",
  ]),
  exceptions: new Set([
    "AccessDeniedException", "AttributeLimitExceededException", "BlockedException", "ClientException",
    "ClusterContainsCapacityProviderException", "ClusterContainsContainerInstancesException",
    "ClusterContainsServicesException", "ClusterContainsTasksException", "ClusterNotFoundException",
    "ConflictException", "DaemonNotActiveException", "DaemonNotFoundException", "InvalidParameterException",
    "LimitExceededException", "MissingVersionException", "NamespaceNotFoundException", "NoUpdateAvailableException",
    "PlatformTaskDefinitionIncompatibilityException", "PlatformUnknownException", "ResourceInUseException",
    "ResourceNotFoundException", "ServerException", "ServiceDeploymentNotFoundException", "ServiceNotActiveException",
    "ServiceNotFoundException", "TargetNotConnectedException", "TargetNotFoundException", "TaskSetNotFoundException",
    "UnsupportedFeatureException", "UpdateInProgressException",
  ]),
  serverFault: "ServerException",
  invalidParameter: "InvalidParameterException",
  clientError: "ClientException",
};

export const SSM_TARGET_PREFIX = "AmazonSSM";

export const SSM_MODEL: ServiceModel = {
  timestampMembers: new Set([
    "ActualEndTime", "ActualStartTime", "ApprovalDate", "CaptureTime", "CreateTime", "CreatedAt", "CreatedDate",
    "CreatedTime", "CreationDate", "Date", "DeletionStartTime", "EndDate", "EndTime", "EndedAt", "ExecutionDate",
    "ExecutionEndTime", "ExecutionStartTime", "ExecutionTime", "ExpirationDate", "ExpirationTime", "ExpiresAfter",
    "InstalledTime", "LastAssociationExecutionDate", "LastExecutionDate", "LastModifiedDate", "LastModifiedTime",
    "LastNoRebootInstallOperationTime", "LastPingDateTime", "LastStatusUpdateTime",
    "LastSuccessfulAssociationExecutionDate", "LastSuccessfulExecutionDate", "LastSuccessfulSyncTime", "LastSyncTime",
    "LastUpdateAssociationDate", "LaunchTime", "ModifiedDate", "OperationEndTime", "OperationStartTime",
    "PlannedEndTime", "PlannedStartTime", "RegistrationDate", "ReleaseDate", "RequestedDateTime",
    "ResponseFinishDateTime", "ResponseStartDateTime", "ReviewedTime", "ScheduledEndTime", "ScheduledTime",
    "StartDate", "StartTime", "SyncCreatedTime", "SyncLastModifiedTime", "UpdatedAt", "UpdatedTime",
  ]),
  mapMembers: new Set([
    "AssociationStatusAggregatedCount", "Context", "Data", "Details", "Inputs",
    "InstanceAssociationStatusAggregatedCount", "Metadata", "MetadataToUpdate", "OperationalData", "Outputs",
    "OverriddenParameters", "Parameters", "Payload", "StepPreviews", "TaskParameters", "Values", "Variables",
  ]),
  exceptions: new Set([
    "AccessDeniedException", "AlreadyExistsException", "AssociatedInstances", "AssociationAlreadyExists",
    "AssociationDoesNotExist", "AssociationExecutionDoesNotExist", "AssociationLimitExceeded",
    "AssociationVersionLimitExceeded", "AutomationDefinitionNotApprovedException",
    "AutomationDefinitionNotFoundException", "AutomationDefinitionVersionNotFoundException",
    "AutomationExecutionLimitExceededException", "AutomationExecutionNotFoundException",
    "AutomationStepNotFoundException", "ComplianceTypeCountLimitExceededException", "ConflictException",
    "CustomSchemaCountLimitExceededException", "DocumentAlreadyExists", "DocumentLimitExceeded",
    "DocumentPermissionLimit", "DocumentVersionLimitExceeded", "DoesNotExistException", "DuplicateDocumentContent",
    "DuplicateDocumentVersionName", "DuplicateInstanceId", "FeatureNotAvailableException",
    "HierarchyLevelLimitExceededException", "HierarchyTypeMismatchException", "IdempotentParameterMismatch",
    "IncompatiblePolicyException", "InternalServerError", "InvalidActivation", "InvalidActivationId",
    "InvalidAggregatorException", "InvalidAllowedPatternException", "InvalidAssociation", "InvalidAssociationVersion",
    "InvalidAutomationExecutionParametersException", "InvalidAutomationSignalException",
    "InvalidAutomationStatusUpdateException", "InvalidCommandId", "InvalidDeleteInventoryParametersException",
    "InvalidDeletionIdException", "InvalidDocument", "InvalidDocumentContent", "InvalidDocumentOperation",
    "InvalidDocumentSchemaVersion", "InvalidDocumentType", "InvalidDocumentVersion", "InvalidFilter",
    "InvalidFilterKey", "InvalidFilterOption", "InvalidFilterValue", "InvalidInstanceId",
    "InvalidInstanceInformationFilterValue", "InvalidInstancePropertyFilterValue", "InvalidInventoryGroupException",
    "InvalidInventoryItemContextException", "InvalidInventoryRequestException", "InvalidItemContentException",
    "InvalidKeyId", "InvalidNextToken", "InvalidNotificationConfig", "InvalidOptionException", "InvalidOutputFolder",
    "InvalidOutputLocation", "InvalidParameters", "InvalidPermissionType", "InvalidPluginName",
    "InvalidPolicyAttributeException", "InvalidPolicyTypeException", "InvalidResourceId", "InvalidResourceType",
    "InvalidResultAttributeException", "InvalidRole", "InvalidSchedule", "InvalidTag", "InvalidTarget",
    "InvalidTargetMaps", "InvalidTypeNameException", "InvalidUpdate", "InvocationDoesNotExist",
    "ItemContentMismatchException", "ItemSizeLimitExceededException", "MalformedResourcePolicyDocumentException",
    "MaxDocumentSizeExceeded", "NoLongerSupportedException", "OpsItemAccessDeniedException",
    "OpsItemAlreadyExistsException", "OpsItemConflictException", "OpsItemInvalidParameterException",
    "OpsItemLimitExceededException", "OpsItemNotFoundException", "OpsItemRelatedItemAlreadyExistsException",
    "OpsItemRelatedItemAssociationNotFoundException", "OpsMetadataAlreadyExistsException",
    "OpsMetadataInvalidArgumentException", "OpsMetadataKeyLimitExceededException", "OpsMetadataLimitExceededException",
    "OpsMetadataNotFoundException", "OpsMetadataTooManyUpdatesException", "ParameterAlreadyExists",
    "ParameterLimitExceeded", "ParameterMaxVersionLimitExceeded", "ParameterNotFound",
    "ParameterPatternMismatchException", "ParameterVersionLabelLimitExceeded", "ParameterVersionNotFound",
    "PoliciesLimitExceededException", "ResourceDataSyncAlreadyExistsException", "ResourceDataSyncConflictException",
    "ResourceDataSyncCountExceededException", "ResourceDataSyncInvalidConfigurationException",
    "ResourceDataSyncNotFoundException", "ResourceInUseException", "ResourceLimitExceededException",
    "ResourceNotFoundException", "ResourcePolicyConflictException", "ResourcePolicyInvalidParameterException",
    "ResourcePolicyLimitExceededException", "ResourcePolicyNotFoundException", "ServiceQuotaExceededException",
    "ServiceSettingNotFound", "StatusUnchanged", "SubTypeCountLimitExceededException", "TargetInUseException",
    "TargetNotConnected", "ThrottlingException", "TooManyTagsError", "TooManyUpdates",
    "TotalSizeLimitExceededException", "UnsupportedCalendarException", "UnsupportedFeatureRequiredException",
    "UnsupportedInventoryItemContextException", "UnsupportedInventorySchemaVersionException",
    "UnsupportedOperatingSystem", "UnsupportedOperationException", "UnsupportedParameterType",
    "UnsupportedPlatformType", "ValidationException",
  ]),
  serverFault: "InternalServerError",
  invalidParameter: "ValidationException",
  clientError: "ValidationException",
};

/** Models by target prefix (`X-Amz-Target: <prefix>.<Action>`). */
export const SERVICE_MODELS: Record<string, ServiceModel> = {
  [ECS_TARGET_PREFIX]: ECS_MODEL,
  [SSM_TARGET_PREFIX]: SSM_MODEL,
};
