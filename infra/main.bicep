// aoai-chargeback: private Azure OpenAI behind API Management, every call logged to Event Hubs and priced by
// the Rust custom handler in a Function App. Deployed by `azd up` at subscription scope.
targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('azd environment name; used in resource names.')
param environmentName string

@minLength(1)
@description('Region for all resources (must offer the models in openAiDeployments and the Function plan).')
param location string

@description('Existing resource group to deploy into (AZURE_RESOURCE_GROUP); empty creates rg-<name>-<env>.')
param resourceGroupName string = ''

@description('Azure OpenAI model deployments. The first chat and the first embeddings deployment are exported for the test scripts.')
param openAiDeployments array = [
  {
    name: 'chat'
    model: {
      name: 'gpt-4o'
      version: '2024-11-20'
    }
    sku: {
      name: 'GlobalStandard'
      capacity: 30
    }
  }
  {
    name: 'embeddings'
    model: {
      name: 'text-embedding-3-small'
      version: '1'
    }
    sku: {
      name: 'Standard'
      capacity: 30
    }
  }
]

@description('Function App plan: FlexConsumption (default) or ElasticPremium (EP1).')
@allowed(['FlexConsumption', 'ElasticPremium'])
param functionPlanType string = 'FlexConsumption'

@description('APIM tier. v2 tiers support outbound VNet integration and deploy in minutes.')
@allowed(['StandardV2', 'PremiumV2'])
param apimSku string = 'StandardV2'

@description('APIM publisher e-mail (required by APIM).')
param apimPublisherEmail string = 'noreply@contoso.com'

@description('APIM publisher name.')
param apimPublisherName string = 'aoai-chargeback'

@description('azure-openai-token-limit per subscription, tokens per minute; 0 (default) turns it off. A string so azd can fill it from TOKENS_PER_MINUTE_LIMIT.')
param tokensPerMinuteLimit string = '0'

@description('Audience of caller Entra tokens validated by the gateway (optional Entra auth of callers).')
param entraAudience string = 'api://aoai-chargeback'

@description('Write zero-token rows for non-billable calls (CHARGEBACK_RECORD_NON_BILLABLE).')
param recordNonBillable bool = false

var abbrs = {
  resourceGroup: 'rg-'
  vnet: 'vnet-'
  openAi: 'oai-'
  eventHubs: 'evhns-'
  storage: 'st'
  logAnalytics: 'log-'
  appInsights: 'appi-'
  privateLinkScope: 'ampls-'
  plan: 'plan-'
  functionApp: 'func-'
  identity: 'id-'
  apim: 'apim-'
}

var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = { 'azd-env-name': environmentName }
var functionAppName = '${abbrs.functionApp}chargeback-${resourceToken}'

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: !empty(resourceGroupName) ? resourceGroupName : '${abbrs.resourceGroup}chargeback-${environmentName}'
  location: location
  tags: tags
}

module network 'modules/network.bicep' = {
  name: 'network'
  scope: rg
  params: {
    location: location
    tags: tags
    vnetName: '${abbrs.vnet}${resourceToken}'
    functionPlanType: functionPlanType
  }
}

module openAi 'modules/openai.bicep' = {
  name: 'openai'
  scope: rg
  params: {
    name: '${abbrs.openAi}${resourceToken}'
    location: location
    tags: tags
    deployments: openAiDeployments
    privateEndpointSubnetId: network.outputs.privateEndpointSubnetId
    openAiDnsZoneId: network.outputs.openAiDnsZoneId
  }
}

module eventHub 'modules/eventhub.bicep' = {
  name: 'eventhub'
  scope: rg
  params: {
    name: '${abbrs.eventHubs}${resourceToken}'
    location: location
    tags: tags
    hubName: 'apim-openai-logs'
    consumerGroupName: 'chargeback'
    partitionCount: 4
    privateEndpointSubnetId: network.outputs.privateEndpointSubnetId
    eventHubDnsZoneId: network.outputs.eventHubDnsZoneId
  }
}

module storage 'modules/storage.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    name: '${abbrs.storage}${resourceToken}'
    location: location
    tags: tags
    ledgerContainerName: 'chargeback-ledger'
    deadLetterContainerName: 'chargeback-deadletter'
    deploymentContainerName: 'app-package-${take(resourceToken, 7)}'
    privateEndpointSubnetId: network.outputs.privateEndpointSubnetId
    blobDnsZoneId: network.outputs.blobDnsZoneId
    queueDnsZoneId: network.outputs.queueDnsZoneId
    tableDnsZoneId: network.outputs.tableDnsZoneId
  }
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    logAnalyticsName: '${abbrs.logAnalytics}${resourceToken}'
    appInsightsName: '${abbrs.appInsights}${resourceToken}'
    privateLinkScopeName: '${abbrs.privateLinkScope}${resourceToken}'
    location: location
    tags: tags
    privateEndpointSubnetId: network.outputs.privateEndpointSubnetId
    monitorDnsZoneIds: network.outputs.monitorDnsZoneIds
  }
}

module functionApp 'modules/function-app.bicep' = {
  name: 'function-app'
  scope: rg
  params: {
    name: functionAppName
    planName: '${abbrs.plan}${resourceToken}'
    identityName: '${abbrs.identity}chargeback-${resourceToken}'
    location: location
    tags: tags
    serviceName: 'chargeback'
    planType: functionPlanType
    functionSubnetId: network.outputs.functionSubnetId
    privateEndpointSubnetId: network.outputs.privateEndpointSubnetId
    webDnsZoneId: network.outputs.webDnsZoneId
    storageAccountName: storage.outputs.name
    deploymentContainerName: storage.outputs.deploymentContainerName
    ledgerContainerName: storage.outputs.ledgerContainerName
    deadLetterContainerName: storage.outputs.deadLetterContainerName
    eventHubNamespaceName: eventHub.outputs.name
    eventHubName: eventHub.outputs.hubName
    consumerGroupName: eventHub.outputs.consumerGroupName
    appInsightsName: monitoring.outputs.appInsightsName
    deploymentModels: join(map(openAiDeployments, d => '${d.name}=${d.model.name}'), ',')
    recordNonBillable: recordNonBillable
  }
}

module apim 'modules/apim.bicep' = {
  name: 'apim'
  scope: rg
  params: {
    name: '${abbrs.apim}${resourceToken}'
    location: location
    tags: tags
    skuName: apimSku
    publisherEmail: apimPublisherEmail
    publisherName: apimPublisherName
    apimSubnetId: network.outputs.apimSubnetId
    openAiAccountName: openAi.outputs.name
    eventHubNamespaceName: eventHub.outputs.name
    eventHubName: eventHub.outputs.hubName
    tokensPerMinuteLimit: int(tokensPerMinuteLimit)
    entraAudience: entraAudience
  }
}

var chatDeployments = filter(openAiDeployments, d => !startsWith(d.model.name, 'text-embedding'))
var embeddingDeployments = filter(openAiDeployments, d => startsWith(d.model.name, 'text-embedding'))

// Everything azd writes into .azure/<env>/.env. Names and URLs only, never a key.
output AZURE_LOCATION string = location
output AZURE_RESOURCE_GROUP string = rg.name
output APIM_NAME string = apim.outputs.name
output APIM_GATEWAY_URL string = apim.outputs.gatewayUrl
output APIM_SUBSCRIPTION_NAME string = apim.outputs.subscriptionName
output AZURE_OPENAI_DEPLOYMENTS string = join(openAi.outputs.deploymentNames, ',')
output AZURE_OPENAI_CHAT_DEPLOYMENT string = empty(chatDeployments) ? '' : chatDeployments[0].name
output AZURE_OPENAI_EMBEDDINGS_DEPLOYMENT string = empty(embeddingDeployments) ? '' : embeddingDeployments[0].name
output FUNCTION_APP_NAME string = functionApp.outputs.name
