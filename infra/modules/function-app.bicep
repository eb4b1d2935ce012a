// The Rust custom handler's Function App on Linux Flex Consumption (runtime `custom`). It has a user-assigned
// identity created here, uses identity-based connections for AzureWebJobsStorage and the Event Hubs trigger,
// no publishing credentials, no public network access, and VNet integration to reach the private endpoints.
// The role assignments it needs are declared here, next to the identity they are granted to.
//
// Deploying from outside the VNet: at rest the app is private (publicNetworkAccess Disabled) and its access
// restrictions deny everything (main site and SCM site, no rules). The predeploy hook
// (infra/hooks/scm-access.sh open) turns public access on with one SCM-only Allow rule for the deployer's
// address and the postdeploy hook closes it again; with deployFromVnet the hooks never open anything. The
// restrictions below are what keeps the main site closed while the SCM opening exists.
// (Elastic Premium was dropped: see the README, "Why only StandardV2 and Flex Consumption", and docs/deploy.md.)

param name string
param planName string
param identityName string
param location string
param tags object = {}

@description('azd service name; azd finds the app to deploy to by this tag.')
param serviceName string = 'chargeback'

param functionSubnetId string
param privateEndpointSubnetId string
param webDnsZoneId string

param storageAccountName string
param deploymentContainerName string
param ledgerContainerName string
param deadLetterContainerName string

param eventHubNamespaceName string
param eventHubName string
param consumerGroupName string

param appInsightsName string

@description('CHARGEBACK_DEPLOYMENT_MODELS: deployment=model pairs, comma separated.')
param deploymentModels string

@description('CHARGEBACK_PRICE_SHEET: path of the price sheet inside the package (the package hook stages prices/).')
param priceSheetPath string = 'prices/azure-openai-usd.json'

@description('CHARGEBACK_DEPLOYMENTS: deployment=model:skuName pairs, comma separated (the meter each deployment is priced on).')
param deploymentSkus string = ''

@description('CHARGEBACK_RECORD_NON_BILLABLE.')
param recordNonBillable bool = false

@description('Flex Consumption instance memory (MB).')
@allowed([512, 2048, 4096])
param instanceMemoryMB int = 2048

@description('Flex Consumption maximum instance count.')
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 40

// Role definitions (built-in, same IDs in every tenant).
var roles = {
  eventHubsDataReceiver: 'a638d3c7-ab3a-418d-83e6-5f17a39d4fde'
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
  storageQueueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
  storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb'
}

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: identityName
  location: location
  tags: tags
}

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource eventHubNamespace 'Microsoft.EventHub/namespaces@2024-01-01' existing = {
  name: eventHubNamespaceName
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: appInsightsName
}

// The Event Hubs trigger reads events and owns checkpoints (checkpoints live in storage, below).
resource eventHubsReceiver 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(eventHubNamespace.id, identity.id, roles.eventHubsDataReceiver)
  scope: eventHubNamespace
  properties: {
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.eventHubsDataReceiver)
  }
}

// The Functions host keeps its locks, checkpoints and keys in blobs, the Flex deployment package is a blob,
// and the ledger and dead-letter outputs are blobs: Storage Blob Data Owner, as the host's identity-based
// AzureWebJobsStorage connection requires.
resource storageBlobOwner 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, identity.id, roles.storageBlobDataOwner)
  scope: storage
  properties: {
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataOwner)
  }
}

// The host uses queues for its internal coordination (and blob-trigger receipts): Queue Data Contributor.
resource storageQueueContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, identity.id, roles.storageQueueDataContributor)
  scope: storage
  properties: {
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageQueueDataContributor)
  }
}

// The host stores timer/diagnostic state in tables when AzureWebJobsStorage is identity based.
resource storageTableContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, identity.id, roles.storageTableDataContributor)
  scope: storage
  properties: {
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageTableDataContributor)
  }
}

// App Insights has local auth disabled: the host and the handler's /v2.1/track calls need an Entra token
// of an identity holding Monitoring Metrics Publisher on the component.
resource metricsPublisher 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(appInsights.id, identity.id, roles.monitoringMetricsPublisher)
  scope: appInsights
  properties: {
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.monitoringMetricsPublisher)
  }
}

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true
  }
}

// Identity-based connections only: no keys, no connection strings other
// than the App Insights one (not a credential: local auth is disabled on the component).
var appSettings = {
  AzureWebJobsStorage__accountName: storage.name
  AzureWebJobsStorage__blobServiceUri: storage.properties.primaryEndpoints.blob
  AzureWebJobsStorage__queueServiceUri: storage.properties.primaryEndpoints.queue
  AzureWebJobsStorage__tableServiceUri: storage.properties.primaryEndpoints.table
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identity.properties.clientId
  EventHubConnection__fullyQualifiedNamespace: '${eventHubNamespace.name}.servicebus.windows.net'
  EventHubConnection__credential: 'managedidentity'
  EventHubConnection__clientId: identity.properties.clientId
  AZURE_CLIENT_ID: identity.properties.clientId
  APIM_LOGS_EVENTHUB_NAME: eventHubName
  APIM_LOGS_CONSUMER_GROUP: consumerGroupName
  CHARGEBACK_LEDGER_CONTAINER: ledgerContainerName
  CHARGEBACK_DEADLETTER_CONTAINER: deadLetterContainerName
  CHARGEBACK_DEPLOYMENT_MODELS: deploymentModels
  CHARGEBACK_DEPLOYMENTS: deploymentSkus
  CHARGEBACK_RECORD_NON_BILLABLE: string(recordNonBillable)
  CHARGEBACK_PRICE_SHEET: priceSheetPath
  APPLICATIONINSIGHTS_CONNECTION_STRING: appInsights.properties.ConnectionString
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'Authorization=AAD;ClientId=${identity.properties.clientId}'
  RUST_LOG: 'info'
}


resource site 'Microsoft.Web/sites@2024-04-01' = {
  name: name
  location: location
  tags: union(tags, { 'azd-service-name': serviceName })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identity.id}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    publicNetworkAccess: 'Disabled'
    virtualNetworkSubnetId: functionSubnetId
    vnetRouteAllEnabled: true
    keyVaultReferenceIdentity: identity.id
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storage.properties.primaryEndpoints.blob}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identity.id
          }
        }
      }
      runtime: {
        name: 'custom'
        version: '1.0'
      }
      scaleAndConcurrency: {
        instanceMemoryMB: instanceMemoryMB
        maximumInstanceCount: maximumInstanceCount
      }
    }
    siteConfig: {
      minTlsVersion: '1.2'
      scmMinTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
      // Closed at rest even if public access is turned on: no rules, default Deny on both sites, and the
      // SCM site has its own list (the deploy hook adds one SCM rule for the deployer, never a main one).
      ipSecurityRestrictionsDefaultAction: 'Deny'
      scmIpSecurityRestrictionsDefaultAction: 'Deny'
      scmIpSecurityRestrictionsUseMain: false
      appSettings: [for setting in items(appSettings): { name: setting.key, value: setting.value }]
    }
  }
  dependsOn: [
    storageBlobOwner
    storageQueueContributor
    storageTableContributor
    eventHubsReceiver
    metricsPublisher
  ]

  // Publishing with basic credentials (FTP and SCM) is off: azd deploys with an Entra token.
  resource ftpCredentials 'basicPublishingCredentialsPolicies' = {
    name: 'ftp'
    properties: { allow: false }
  }

  resource scmCredentials 'basicPublishingCredentialsPolicies' = {
    name: 'scm'
    properties: { allow: false }
  }
}

module privateEndpoint 'private-endpoint.bicep' = {
  name: 'pe-${name}'
  params: {
    name: 'pe-${name}'
    location: location
    tags: tags
    subnetId: privateEndpointSubnetId
    privateLinkServiceId: site.id
    groupId: 'sites'
    privateDnsZoneIds: [webDnsZoneId]
  }
}

output name string = site.name
output identityPrincipalId string = identity.properties.principalId
