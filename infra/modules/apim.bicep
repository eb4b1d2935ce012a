// API Management (v2 tier, outbound VNet integration) in front of the private Azure OpenAI account:
// system-assigned identity, the Azure OpenAI inference API imported from the OpenAPI spec in this repo,
// a backend, a product and a subscription, an Event Hubs logger authenticated with the managed identity,
// the logging policy fragment and the API policy. Role assignments of the APIM identity live here.
//
// The gateway is public with a subscription key by default. With privateGateway it gets an inbound
// private endpoint (group `Gateway`, zone privatelink.azure-api.net), and public network access is turned
// off in a second pass (apim-public-access.bicep): APIM refuses to create an instance with public access
// disabled, so the documented order is create, add the private endpoint, then disable public access.
// Only StandardV2: PremiumV2 is not a SKU of the 2024-05-01 type this file uses (it appears in
// 2025-03-01-preview), and the protocol settings below are the only customProperties v2 tiers accept
// (cipher settings are not supported on v2 tiers).

param name string
param location string
param tags object = {}

@allowed(['StandardV2'])
param skuName string = 'StandardV2'

@description('Private gateway: inbound private endpoint, then public network access disabled.')
param privateGateway bool = false

@description('Public access was already disabled by an earlier deployment (azd feeds the APIM_GATEWAY_LOCKED output back), so the first pass keeps it off instead of re-opening it until the second pass.')
param gatewayLocked bool = false

@description('Subnet of the private gateway endpoint (used only with privateGateway).')
param gatewayEndpointSubnetId string = ''

@description('privatelink.azure-api.net zone (used only with privateGateway).')
param apimDnsZoneId string = ''

param publisherEmail string
param publisherName string

@description('Subnet for APIM outbound VNet integration (delegated to Microsoft.Web/serverFarms).')
param apimSubnetId string

param openAiAccountName string
param eventHubNamespaceName string
param eventHubName string

@description('Tokens per minute per subscription for azure-openai-token-limit; 0 turns the limit off.')
@minValue(0)
param tokensPerMinuteLimit int = 0

@description('Tenant whose Entra tokens are validated when a caller sends an Authorization header.')
param entraTenantId string = tenant().tenantId

@description('Audience expected in caller Entra tokens (the app registration of the gateway).')
param entraAudience string = 'api://aoai-chargeback'

var roles = {
  cognitiveServicesOpenAiUser: '5e0bd9bd-7b93-4f28-af87-19fc36ad61bd'
  eventHubsDataSender: '2b629674-e913-4c01-ae53-ef4638d8f975'
}

var backendId = 'aoai-backend'
var tlsProperties = {
  'Microsoft.WindowsAzure.ApiManagement.Gateway.Security.Protocols.Tls10': 'false'
  'Microsoft.WindowsAzure.ApiManagement.Gateway.Security.Protocols.Tls11': 'false'
  'Microsoft.WindowsAzure.ApiManagement.Gateway.Security.Backend.Protocols.Tls10': 'false'
  'Microsoft.WindowsAzure.ApiManagement.Gateway.Security.Backend.Protocols.Tls11': 'false'
}
var loggerId = 'chargeback-eventhub-logger'

resource openAi 'Microsoft.CognitiveServices/accounts@2024-10-01' existing = {
  name: openAiAccountName
}

resource eventHubNamespace 'Microsoft.EventHub/namespaces@2024-01-01' existing = {
  name: eventHubNamespaceName
}

resource apim 'Microsoft.ApiManagement/service@2024-05-01' = {
  name: name
  location: location
  tags: tags
  sku: {
    name: skuName
    capacity: 1
  }
  identity: { type: 'SystemAssigned' }
  properties: {
    publisherEmail: publisherEmail
    publisherName: publisherName
    virtualNetworkType: 'External'
    virtualNetworkConfiguration: { subnetResourceId: apimSubnetId }
    publicNetworkAccess: privateGateway && gatewayLocked ? 'Disabled' : 'Enabled'
    customProperties: tlsProperties
  }
}

// The gateway calls Azure OpenAI inference with its own identity (keys are disabled on the account).
resource openAiUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(openAi.id, apim.id, roles.cognitiveServicesOpenAiUser)
  scope: openAi
  properties: {
    principalId: apim.identity.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.cognitiveServicesOpenAiUser)
  }
}

// The Event Hubs logger sends the usage events with the same identity (SAS keys are disabled).
resource eventHubsSender 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(eventHubNamespace.id, apim.id, roles.eventHubsDataSender)
  scope: eventHubNamespace
  properties: {
    principalId: apim.identity.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.eventHubsDataSender)
  }
}

// Named values the policies read. Plain values, none of them secret.
resource tokenLimitEnabled 'Microsoft.ApiManagement/service/namedValues@2024-05-01' = {
  parent: apim
  name: 'aoai-token-limit-enabled'
  properties: {
    displayName: 'aoai-token-limit-enabled'
    value: tokensPerMinuteLimit > 0 ? 'true' : 'false'
    secret: false
  }
}

resource tokensPerMinute 'Microsoft.ApiManagement/service/namedValues@2024-05-01' = {
  parent: apim
  name: 'aoai-tokens-per-minute'
  properties: {
    displayName: 'aoai-tokens-per-minute'
    value: string(tokensPerMinuteLimit > 0 ? tokensPerMinuteLimit : 1)
    secret: false
  }
}

resource entraTenant 'Microsoft.ApiManagement/service/namedValues@2024-05-01' = {
  parent: apim
  name: 'chargeback-entra-tenant-id'
  properties: {
    displayName: 'chargeback-entra-tenant-id'
    value: entraTenantId
    secret: false
  }
}

resource entraAudienceValue 'Microsoft.ApiManagement/service/namedValues@2024-05-01' = {
  parent: apim
  name: 'chargeback-entra-audience'
  properties: {
    displayName: 'chargeback-entra-audience'
    value: entraAudience
    secret: false
  }
}

resource backend 'Microsoft.ApiManagement/service/backends@2024-05-01' = {
  parent: apim
  name: backendId
  properties: {
    description: 'Azure OpenAI account (private endpoint)'
    url: '${openAi.properties.endpoint}openai'
    protocol: 'http'
    tls: {
      validateCertificateChain: true
      validateCertificateName: true
    }
  }
}

resource logger 'Microsoft.ApiManagement/service/loggers@2024-05-01' = {
  parent: apim
  name: loggerId
  properties: {
    loggerType: 'azureEventHub'
    description: 'Chargeback usage events (schema v2) to Event Hubs, managed identity auth'
    credentials: {
      endpointAddress: '${eventHubNamespace.name}.servicebus.windows.net'
      identityClientId: 'SystemAssigned'
      name: eventHubName
    }
  }
  dependsOn: [
    eventHubsSender
  ]
}

resource logFragment 'Microsoft.ApiManagement/service/policyFragments@2024-05-01' = {
  parent: apim
  name: 'chargeback-log-event'
  properties: {
    description: 'Builds the v2 usage event (docs/event-schema.md), keeps it under 200 KB, sends it to Event Hubs'
    format: 'rawxml'
    value: loadTextContent('../policies/chargeback-log-event.fragment.xml')
  }
  dependsOn: [
    logger
  ]
}

resource api 'Microsoft.ApiManagement/service/apis@2024-05-01' = {
  parent: apim
  name: 'azure-openai'
  properties: {
    displayName: 'Azure OpenAI'
    path: 'openai'
    protocols: ['https']
    subscriptionRequired: true
    subscriptionKeyParameterNames: {
      header: 'api-key'
      query: 'subscription-key'
    }
    format: 'openapi+json'
    value: loadTextContent('../specs/azure-openai-inference.json')
  }
}

resource apiPolicy 'Microsoft.ApiManagement/service/apis/policies@2024-05-01' = {
  parent: api
  name: 'policy'
  properties: {
    format: 'rawxml'
    value: loadTextContent('../policies/openai-api.policy.xml')
  }
  dependsOn: [
    backend
    logFragment
    tokenLimitEnabled
    tokensPerMinute
    entraTenant
    entraAudienceValue
    openAiUser
  ]
}

resource product 'Microsoft.ApiManagement/service/products@2024-05-01' = {
  parent: apim
  name: 'chargeback'
  properties: {
    displayName: 'Azure OpenAI (chargeback)'
    description: 'Azure OpenAI through the gateway; every call is metered per subscription.'
    subscriptionRequired: true
    approvalRequired: false
    state: 'published'
  }

  resource productApi 'apis' = {
    name: api.name
  }
}

resource subscription 'Microsoft.ApiManagement/service/subscriptions@2024-05-01' = {
  parent: apim
  name: 'chargeback-demo'
  properties: {
    displayName: 'chargeback demo consumer'
    scope: '/products/${product.name}'
    state: 'active'
    allowTracing: false
  }
}

// Private gateway, step 2: the inbound private endpoint (needs public access still on at creation).
module gatewayEndpoint 'private-endpoint.bicep' = if (privateGateway) {
  name: 'pe-${name}'
  params: {
    name: 'pe-${name}'
    location: location
    tags: tags
    subnetId: gatewayEndpointSubnetId
    privateLinkServiceId: apim.id
    groupId: 'Gateway'
    privateDnsZoneIds: [apimDnsZoneId]
  }
}

// Private gateway, step 3: the same service again with public network access disabled.
module publicAccessOff 'apim-public-access.bicep' = if (privateGateway) {
  name: 'apim-public-access-off'
  params: {
    name: apim.name
    location: location
    tags: tags
    skuName: skuName
    publisherEmail: publisherEmail
    publisherName: publisherName
    apimSubnetId: apimSubnetId
    customProperties: tlsProperties
  }
  dependsOn: [
    gatewayEndpoint
    apiPolicy
    subscription
  ]
}

output name string = apim.name
output gatewayUrl string = apim.properties.gatewayUrl
output subscriptionName string = subscription.name
output apiPath string = api.properties.path
