// Tidemark's Azure side: the lake's storage account (ADLS Gen2), its customer-managed key in Key Vault, and the
// worker's managed identity with only the roles it needs. Deployed into one resource group:
//
//   az deployment group create --resource-group <rg> --template-file deploy/azure/main.bicep \
//     --parameters storageAccountName=<name> keyVaultName=<name> privateEndpointSubnetId=<subnet id> \
//                  logAnalyticsWorkspaceId=<workspace id>
//
// Why each setting is there (the HIPAA safeguard or Tidemark invariant it serves): docs/security.md.
// How to deploy, what to do afterwards (lock the retention policy, store the secrets): deploy/azure/README.md.
// Security settings are literals, not parameters, so that a policy scan of this file sees the values that deploy.

targetScope = 'resourceGroup'

// ------------------------------------------------------------------------------------------------------------
// Parameters
// ------------------------------------------------------------------------------------------------------------

@description('Azure region of every resource. Default: the region of the resource group.')
param location string = resourceGroup().location

@description('Name of the storage account (3-24 lowercase letters and digits, globally unique).')
@minLength(3)
@maxLength(24)
param storageAccountName string

@description('Name of the key vault that holds the storage key and the worker secrets (3-24 characters, globally unique).')
@minLength(3)
@maxLength(24)
param keyVaultName string

@description('Name of the user-assigned identity the Tidemark worker runs as.')
param workerIdentityName string = 'id-tidemark-worker'

@description('Name of the user-assigned identity the storage account uses to reach its key (nothing else uses it).')
param storageKeyIdentityName string = 'id-tidemark-storage-cmk'

@description('Resource id of the subnet that receives the private endpoints (blob, dfs, vault).')
param privateEndpointSubnetId string

@description('Resource id of the Log Analytics workspace that receives the diagnostic logs and metrics.')
param logAnalyticsWorkspaceId string

@description('Resource id of the private DNS zone privatelink.blob.core.windows.net; empty: DNS is managed elsewhere.')
param blobPrivateDnsZoneId string = ''

@description('Resource id of the private DNS zone privatelink.dfs.core.windows.net; empty: DNS is managed elsewhere.')
param dfsPrivateDnsZoneId string = ''

@description('Resource id of the private DNS zone privatelink.vaultcore.azure.net; empty: DNS is managed elsewhere.')
param vaultPrivateDnsZoneId string = ''

@description('The data container (Tidemark sink.container): change log, manifests, schemas, audit. Write-once.')
@minLength(3)
@maxLength(63)
param dataContainerName string = 'raw'

@description('The state container (Tidemark sink.stateContainer): only _state/watermark.json, rewritten by compare-and-swap.')
@minLength(3)
@maxLength(63)
param stateContainerName string = 'raw-state'

@description('Tidemark sink.prefix: the path prefix of the lake inside the data container, without slashes at either end; empty: none.')
param lakePrefix string = ''

@description('Days every object in the data container is kept immutable from its creation. At least 7 years (2557 days: 7 x 365 plus the 2 leap days a 7-year span can hold).')
@minValue(2557)
@maxValue(146000)
param retentionDays int = 2557

@description('Set to true once the retention policy of the data container has been locked (see deploy/azure/README.md). Azure allows only extending a locked policy, so the template then leaves it alone.')
param retentionPolicyLocked bool = false

@description('Replication of the storage account. Geo-redundant, and GRS or RA-GRS only, because the archive tier does not support zone-redundant (ZRS, GZRS, RA-GZRS) accounts.')
@allowed([
  'Standard_GRS'
  'Standard_RAGRS'
])
param storageSku string = 'Standard_GRS'

@description('Days after creation an object of the lake moves to the cool tier (it stays online and readable).')
@minValue(1)
param coolAfterDays int = 30

@description('Blob prefixes inside the data container whose files move to the archive tier, each a table data folder such as claims/v1/Claims.dbo.Claims/data/. Empty: nothing is archived. Archived files cannot be read until rehydrated, and tidemark verify, sweep and reconcile read every committed file of a table: list only tables those jobs no longer run on.')
param archivePrefixes array = []

@description('Days after creation a file under archivePrefixes moves to the archive tier (more than coolAfterDays).')
@minValue(2)
param archiveAfterDays int = 365

@description('Name of the RSA key that encrypts the storage account.')
param storageKeyName string = 'tidemark-storage-cmk'

@description('Expiry of the first version of the storage key, in seconds since 1970 (default: two years from the deployment). Later versions come from the rotation policy. The key resource is created once and never updated by a redeployment.')
param storageKeyExpiresAt int = dateTimeToEpoch(dateTimeAdd(utcNow(), 'P2Y'))

@description('Tags applied to every resource.')
param tags object = {}

// ------------------------------------------------------------------------------------------------------------
// Constants
// ------------------------------------------------------------------------------------------------------------

// Built-in role definition ids (the same in every Azure tenant).
var storageBlobDataContributorRoleId = 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'
var keyVaultSecretsUserRoleId = '4633458b-17de-408a-b874-0445c86b69e6'
var keyVaultCryptoServiceEncryptionUserRoleId = 'e147488a-f6f5-4113-8e2d-b22465e65bf6'

// Lifecycle rules match "<container>/<blob prefix>"; the lake lives under the data container and the prefix.
var lakeRoot = empty(lakePrefix) ? '${dataContainerName}/' : '${dataContainerName}/${lakePrefix}/'

// Tier objects of the lake as they age. Tidemark never modifies an object after creating it, so "days after
// modification" is the age of the object; nothing here deletes (the retention policy would refuse it anyway).
var coolRule = {
  name: 'lake-to-cool'
  enabled: true
  type: 'Lifecycle'
  definition: {
    filters: {
      blobTypes: [
        'blockBlob'
      ]
      prefixMatch: [
        lakeRoot
      ]
    }
    actions: {
      baseBlob: {
        tierToCool: {
          daysAfterModificationGreaterThan: coolAfterDays
        }
      }
    }
  }
}

// Only data files of the listed tables go to archive: manifests, schemas and the audit ledger stay online,
// because every reader walks the manifests.
var archiveRule = {
  name: 'closed-partitions-to-archive'
  enabled: true
  type: 'Lifecycle'
  definition: {
    filters: {
      blobTypes: [
        'blockBlob'
      ]
      prefixMatch: [for prefix in archivePrefixes: '${dataContainerName}/${prefix}']
    }
    actions: {
      baseBlob: {
        tierToCool: {
          daysAfterModificationGreaterThan: coolAfterDays
        }
        tierToArchive: {
          daysAfterModificationGreaterThan: archiveAfterDays
        }
      }
    }
  }
}

// ------------------------------------------------------------------------------------------------------------
// Identities
// ------------------------------------------------------------------------------------------------------------

resource workerIdentity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: workerIdentityName
  location: location
  tags: tags
}

resource storageKeyIdentity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: storageKeyIdentityName
  location: location
  tags: tags
}

// ------------------------------------------------------------------------------------------------------------
// Key Vault: the storage key and the worker secrets (SQL password, PHI hash key)
// ------------------------------------------------------------------------------------------------------------

resource keyVault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: keyVaultName
  location: location
  tags: tags
  properties: {
    tenantId: subscription().tenantId
    sku: {
      family: 'A'
      name: 'premium'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    enablePurgeProtection: true
    publicNetworkAccess: 'Disabled'
    networkAcls: {
      defaultAction: 'Deny'
      bypass: 'AzureServices'
      ipRules: []
      virtualNetworkRules: []
    }
    enabledForDeployment: false
    enabledForDiskEncryption: false
    enabledForTemplateDeployment: false
  }
}

resource storageKey 'Microsoft.KeyVault/vaults/keys@2023-07-01' = {
  parent: keyVault
  name: storageKeyName
  properties: {
    kty: 'RSA-HSM'
    keySize: 3072
    keyOps: [
      'wrapKey'
      'unwrapKey'
    ]
    attributes: {
      enabled: true
      exp: storageKeyExpiresAt
    }
    rotationPolicy: {
      attributes: {
        expiryTime: 'P2Y'
      }
      lifetimeActions: [
        {
          trigger: {
            timeBeforeExpiry: 'P60D'
          }
          action: {
            type: 'rotate'
          }
        }
      ]
    }
  }
}

// The storage account's own identity may wrap and unwrap with this one key, nothing else.
resource storageKeyAccess 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storageKey.id, storageKeyIdentity.id, keyVaultCryptoServiceEncryptionUserRoleId)
  scope: storageKey
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', keyVaultCryptoServiceEncryptionUserRoleId)
    principalId: storageKeyIdentity.properties.principalId
    principalType: 'ServicePrincipal'
    description: 'Storage account encryption with the customer-managed key'
  }
}

// The worker reads its secrets (SQL password, privacy.hashKey). The vault is Tidemark's alone; the role reads
// secret values only, never keys.
resource workerReadsSecrets 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(keyVault.id, workerIdentity.id, keyVaultSecretsUserRoleId)
  scope: keyVault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', keyVaultSecretsUserRoleId)
    principalId: workerIdentity.properties.principalId
    principalType: 'ServicePrincipal'
    description: 'Tidemark worker reads its secrets'
  }
}

resource keyVaultDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'tidemark-audit'
  scope: keyVault
  properties: {
    workspaceId: logAnalyticsWorkspaceId
    logs: [
      {
        categoryGroup: 'allLogs'
        enabled: true
      }
    ]
    metrics: [
      {
        category: 'AllMetrics'
        enabled: true
      }
    ]
  }
}

module keyVaultEndpoint 'modules/private-endpoint.bicep' = {
  name: 'pe-${keyVaultName}-vault'
  params: {
    name: 'pe-${keyVaultName}-vault'
    location: location
    tags: tags
    subnetId: privateEndpointSubnetId
    targetResourceId: keyVault.id
    groupId: 'vault'
    privateDnsZoneId: vaultPrivateDnsZoneId
  }
}

// ------------------------------------------------------------------------------------------------------------
// Storage account (ADLS Gen2)
// ------------------------------------------------------------------------------------------------------------

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  // checkov:skip=CKV_AZURE_43: the name is a parameter, which the check cannot evaluate (it reads the parameter's identifier as the name); @minLength/@maxLength bound it and Azure refuses a name that is not 3-24 lowercase letters and digits
  name: storageAccountName
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: storageSku
  }
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${storageKeyIdentity.id}': {}
    }
  }
  properties: {
    isHnsEnabled: true
    accessTier: 'Hot'
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    allowBlobPublicAccess: false
    allowCrossTenantReplication: false
    isLocalUserEnabled: false
    isSftpEnabled: false
    publicNetworkAccess: 'Disabled'
    networkAcls: {
      defaultAction: 'Deny'
      bypass: 'AzureServices'
      ipRules: []
      virtualNetworkRules: []
    }
    encryption: {
      keySource: 'Microsoft.Keyvault'
      requireInfrastructureEncryption: true
      identity: {
        userAssignedIdentity: storageKeyIdentity.id
      }
      keyvaultproperties: {
        // No key version: the account follows new versions of the key (rotation) by itself.
        keyname: storageKeyName
        keyvaulturi: keyVault.properties.vaultUri
      }
      services: {
        blob: {
          enabled: true
          keyType: 'Account'
        }
        file: {
          enabled: true
          keyType: 'Account'
        }
        queue: {
          enabled: true
          keyType: 'Account'
        }
        table: {
          enabled: true
          keyType: 'Account'
        }
      }
    }
  }
  dependsOn: [
    storageKeyAccess
    storageKey
  ]
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: storage
  name: 'default'
  properties: {
    deleteRetentionPolicy: {
      enabled: true
      days: 30
    }
    containerDeleteRetentionPolicy: {
      enabled: true
      days: 30
    }
  }
}

resource dataContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: dataContainerName
  properties: {
    publicAccess: 'None'
  }
}

// Container-level time-based retention (WORM). Tidemark creates every object of the data container once, at
// its final path, with If-None-Match, and never overwrites, renames or deletes it, so the policy costs the
// pipeline nothing. Created unlocked; lock it after checking (deploy/azure/README.md).
resource dataRetention 'Microsoft.Storage/storageAccounts/blobServices/containers/immutabilityPolicies@2023-05-01' = if (!retentionPolicyLocked) {
  parent: dataContainer
  name: 'default'
  properties: {
    immutabilityPeriodSinceCreationInDays: retentionDays
    allowProtectedAppendWrites: false
    allowProtectedAppendWritesAll: false
  }
}

// No retention policy here: _state/watermark.json is replaced after every window (compare-and-swap on its
// ETag) and can always be rebuilt from the manifests.
resource stateContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: stateContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource lifecycle 'Microsoft.Storage/storageAccounts/managementPolicies@2023-05-01' = {
  parent: storage
  name: 'default'
  properties: {
    policy: {
      rules: concat([
        coolRule
      ], empty(archivePrefixes) ? [] : [
        archiveRule
      ])
    }
  }
}

// The worker may read and write blobs in the two containers, and nowhere else in the account.
resource workerWritesData 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(dataContainer.id, workerIdentity.id, storageBlobDataContributorRoleId)
  scope: dataContainer
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageBlobDataContributorRoleId)
    principalId: workerIdentity.properties.principalId
    principalType: 'ServicePrincipal'
    description: 'Tidemark worker writes the lake'
  }
}

resource workerWritesState 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(stateContainer.id, workerIdentity.id, storageBlobDataContributorRoleId)
  scope: stateContainer
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageBlobDataContributorRoleId)
    principalId: workerIdentity.properties.principalId
    principalType: 'ServicePrincipal'
    description: 'Tidemark worker writes the watermark'
  }
}

// Storage accounts take metrics only; the logs are on the blob service below.
resource storageDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'tidemark-audit'
  scope: storage
  properties: {
    workspaceId: logAnalyticsWorkspaceId
    metrics: [
      {
        category: 'Transaction'
        enabled: true
      }
    ]
  }
}

resource blobDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'tidemark-audit'
  scope: blobService
  properties: {
    workspaceId: logAnalyticsWorkspaceId
    logs: [
      {
        category: 'StorageRead'
        enabled: true
      }
      {
        category: 'StorageWrite'
        enabled: true
      }
      {
        category: 'StorageDelete'
        enabled: true
      }
    ]
    metrics: [
      {
        category: 'Transaction'
        enabled: true
      }
    ]
  }
}

module blobEndpoint 'modules/private-endpoint.bicep' = {
  name: 'pe-${storageAccountName}-blob'
  params: {
    name: 'pe-${storageAccountName}-blob'
    location: location
    tags: tags
    subnetId: privateEndpointSubnetId
    targetResourceId: storage.id
    groupId: 'blob'
    privateDnsZoneId: blobPrivateDnsZoneId
  }
}

module dfsEndpoint 'modules/private-endpoint.bicep' = {
  name: 'pe-${storageAccountName}-dfs'
  params: {
    name: 'pe-${storageAccountName}-dfs'
    location: location
    tags: tags
    subnetId: privateEndpointSubnetId
    targetResourceId: storage.id
    groupId: 'dfs'
    privateDnsZoneId: dfsPrivateDnsZoneId
  }
}

// ------------------------------------------------------------------------------------------------------------
// Outputs: what Tidemark's configuration needs
// ------------------------------------------------------------------------------------------------------------

@description('sink.accountUrl (with sink.auth: defaultAzureCredential).')
output accountUrl string = 'https://${storage.name}.blob.${environment().suffixes.storage}'

@description('sink.container.')
output dataContainer string = dataContainer.name

@description('sink.stateContainer.')
output stateContainer string = stateContainer.name

@description('sink.prefix.')
output lakePrefix string = lakePrefix

@description('Client id of the worker identity: set AZURE_CLIENT_ID to it on the worker host so DefaultAzureCredential picks this identity.')
output workerIdentityClientId string = workerIdentity.properties.clientId

@description('Resource id of the worker identity, to attach it to the VM, scale set, container app or AKS workload that runs the worker.')
output workerIdentityResourceId string = workerIdentity.id

@description('keyVault.vaultUrl of the secrets in the Tidemark configuration (source password, privacy.hashKey).')
output keyVaultUrl string = keyVault.properties.vaultUri
